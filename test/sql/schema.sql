-- CREATE EXTENSION ... SCHEMA puts every object there, and it works as typed once the
-- schema is on search_path; the functions find their tables without it.
SET client_min_messages = warning;
DROP EXTENSION IF EXISTS slo_guard CASCADE;  -- whatever an earlier file left
RESET client_min_messages;
CREATE SCHEMA monitoring;
CREATE EXTENSION slo_guard SCHEMA monitoring;
SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'monitoring'::regnamespace
   AND c.relkind = 'r' ORDER BY 1;
SELECT count(*) AS slo_objects_elsewhere FROM pg_class
 WHERE relname LIKE 'slo\_%' AND relnamespace <> 'monitoring'::regnamespace;
CREATE TABLE users (id int);
SELECT monitoring.slo_add_check('users', 'table_exists', '{"tables": ["users"]}') AS id;
-- a hostile search_path cannot capture the extension's own queries
CREATE SCHEMA evil;
CREATE TABLE evil.slo_check (id int);
SET search_path = evil, public;
SELECT check_name, status, summary FROM monitoring.slo_run_checks();
SET search_path = monitoring, public;
SELECT name, state, summary FROM slo_status();
-- the one SECURITY DEFINER function resolves operators in pg_catalog first
SELECT proname, prosecdef, proconfig FROM pg_proc
 WHERE pronamespace = 'monitoring'::regnamespace AND (prosecdef OR proconfig IS NOT NULL)
 ORDER BY 1;
RESET search_path;
DROP EXTENSION slo_guard;
DROP SCHEMA monitoring;
DROP SCHEMA evil CASCADE;
DROP TABLE users;
