-- A bad migration: it drops NestSync's consent table with everything that
-- depends on it. (scripts/demo.sh runs this while a session LISTENs.)
DROP TABLE consent_records CASCADE;
