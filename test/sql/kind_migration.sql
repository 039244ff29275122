-- Check kind "migration": the real tables of each migration tool, the ok and the
-- failing state of each, detection of the tool, and every validation error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

-- The tables as each tool creates them.
CREATE TABLE alembic_version (
    version_num varchar(32) NOT NULL,
    CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num));
CREATE SCHEMA supabase_migrations;
CREATE TABLE supabase_migrations.schema_migrations (
    version text NOT NULL PRIMARY KEY, statements text[], name text);
CREATE TABLE flyway_schema_history (
    installed_rank integer NOT NULL PRIMARY KEY,
    version varchar(50),
    description varchar(200) NOT NULL,
    type varchar(20) NOT NULL,
    script varchar(1000) NOT NULL,
    checksum integer,
    installed_by varchar(100) NOT NULL,
    installed_on timestamp NOT NULL DEFAULT now(),
    execution_time integer NOT NULL,
    success boolean NOT NULL);
CREATE TABLE django_migrations (
    id bigserial PRIMARY KEY,
    app varchar(255) NOT NULL,
    name varchar(255) NOT NULL,
    applied timestamptz NOT NULL);
CREATE TABLE _prisma_migrations (
    id varchar(36) PRIMARY KEY NOT NULL,
    checksum varchar(64) NOT NULL,
    finished_at timestamptz,
    migration_name varchar(255) NOT NULL,
    logs text,
    rolled_back_at timestamptz,
    started_at timestamptz NOT NULL DEFAULT now(),
    applied_steps_count integer NOT NULL DEFAULT 0);
CREATE SCHEMA gomigrate;
CREATE TABLE gomigrate.schema_migrations (version bigint NOT NULL PRIMARY KEY, dirty boolean NOT NULL);
CREATE SCHEMA rails;
CREATE TABLE rails.schema_migrations (version character varying NOT NULL PRIMARY KEY);
CREATE TABLE mig_not_a_migration_table (id int, label text);

-- A healthy state.
INSERT INTO alembic_version VALUES ('003_consent');
INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES
    ('20240101000000', 'init'), ('20240315120000', 'consent'), ('20240210093000', 'children');
INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,
                                   installed_by, execution_time, success) VALUES
    (1, '1', 'init', 'SQL', 'V1__init.sql', 1, 'app', 10, true),
    (2, '1.1', 'children', 'SQL', 'V1_1__children.sql', 2, 'app', 10, true),
    (3, NULL, 'views', 'SQL', 'R__views.sql', 3, 'app', 10, true),
    (4, '2', 'consent', 'SQL', 'V2__consent.sql', 4, 'app', 10, true),
    (5, NULL, 'views', 'SQL', 'R__views.sql', 5, 'app', 10, true);
INSERT INTO django_migrations (app, name, applied) VALUES
    ('contenttypes', '0001_initial', now()),
    ('auth', '0001_initial', now()),
    ('auth', '0012_alter_user_first_name_max_length', now()),
    ('shop', '0001_initial', now()),
    ('shop', '0002_order_status', now());
INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, rolled_back_at,
                                applied_steps_count) VALUES
    ('a', 'c1', now(), '20240101000000_init', NULL, 1),
    ('b', 'c2', NULL, '20240301000000_bad', now(), 0),
    ('c', 'c3', now(), '20240201000000_consent', NULL, 1);
INSERT INTO gomigrate.schema_migrations VALUES (20240101, false);
-- '10' is the newest: versions of digits compare as numbers, not as text.
INSERT INTO rails.schema_migrations VALUES ('1'), ('2'), ('10');

-- Checks; the tool is detected from the table unless given.
SELECT slo_add_check('mig_alembic', 'migration',
                     '{"table": "alembic_version", "expect": "003_consent"}') > 0 AS added;
SELECT slo_add_check('mig_alembic_any', 'migration', '{"table": "alembic_version"}') > 0 AS added;
SELECT slo_add_check('mig_supabase', 'migration',
                     '{"table": "supabase_migrations.schema_migrations", "expect": "20240315120000"}') > 0 AS added;
SELECT slo_add_check('mig_flyway', 'migration',
                     '{"table": "flyway_schema_history", "expect": "2"}') > 0 AS added;
SELECT slo_add_check('mig_django', 'migration',
                     '{"table": "django_migrations", "expect": "shop.0002_order_status"}') > 0 AS added;
SELECT slo_add_check('mig_django_app', 'migration',
                     '{"table": "django_migrations", "expect": "auth.0012_alter_user_first_name_max_length"}') > 0 AS added;
SELECT slo_add_check('mig_django_name', 'migration',
                     '{"table": "django_migrations", "expect": "0002_order_status"}') > 0 AS added;
SELECT slo_add_check('mig_prisma', 'migration',
                     '{"table": "_prisma_migrations", "expect": "20240201000000_consent"}') > 0 AS added;
SELECT slo_add_check('mig_golang', 'migration',
                     '{"table": "gomigrate.schema_migrations", "expect": "20240101",
                       "tool": "golang-migrate"}') > 0 AS added;
-- Resolved with the search_path of the session that adds the check.
SET search_path = rails, public;
SELECT slo_add_check('mig_rails', 'migration',
                     '{"table": "schema_migrations", "expect": "10"}') > 0 AS added;
RESET search_path;

SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'mig\_%' ORDER BY check_name;
-- The detail names the tool and versions only.
SELECT check_name, detail::jsonb
  FROM slo_run_checks(false) WHERE check_name IN ('mig_alembic', 'mig_flyway') ORDER BY check_name;

-- The failing states.
INSERT INTO alembic_version VALUES ('004_audit');
DELETE FROM alembic_version WHERE version_num = '003_consent';
INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES ('20240401000000', 'extra');
INSERT INTO flyway_schema_history (installed_rank, version, description, type, script, checksum,
                                   installed_by, execution_time, success) VALUES
    (6, '3', 'audit', 'SQL', 'V3__audit.sql', 6, 'app', 10, false);
INSERT INTO django_migrations (app, name, applied) VALUES ('shop', '0003_refunds', now());
-- Prisma: one migration failed, a second one is still unfinished.
INSERT INTO _prisma_migrations (id, checksum, finished_at, migration_name, rolled_back_at,
                                applied_steps_count) VALUES
    ('d', 'c4', NULL, '20240401000000_audit', NULL, 0),
    ('e', 'c5', NULL, '20240402000000_index', NULL, 0);
UPDATE gomigrate.schema_migrations SET version = 20240301, dirty = true;
INSERT INTO rails.schema_migrations VALUES ('11');

SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'mig\_%' ORDER BY check_name;

-- Flyway: a failed migration still fails when the version matches expect.
SELECT slo_alter_check('mig_flyway', params => '{"table": "flyway_schema_history", "expect": "3"}') > 0 AS altered;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'mig_flyway';
-- Once repaired (flyway repair deletes the failed row), the last success is current.
DELETE FROM flyway_schema_history WHERE NOT success;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'mig_flyway';

-- Alembic with two heads: one expected head is not enough, both heads match in any order.
INSERT INTO alembic_version VALUES ('003_consent');
SELECT slo_alter_check('mig_alembic', params => '{"table": "alembic_version", "expect": "004_audit"}') > 0 AS altered;
SELECT slo_add_check('mig_alembic_heads', 'migration',
                     '{"table": "alembic_version", "expect": "004_audit, 003_consent"}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'mig\_alembic%' ORDER BY check_name;

-- Missing, empty, or not a migration table; a tool whose columns are absent.
DELETE FROM _prisma_migrations;
SELECT slo_add_check('mig_missing', 'migration', '{"table": "alembic_version_typo"}') > 0 AS added;
SELECT slo_add_check('mig_missing_schema', 'migration', '{"table": "nosuchschema.schema_migrations"}') > 0 AS added;
SELECT slo_add_check('mig_unknown', 'migration', '{"table": "mig_not_a_migration_table"}') > 0 AS added;
SELECT slo_add_check('mig_wrong_tool', 'migration',
                     '{"table": "alembic_version", "tool": "flyway"}') > 0 AS added;
-- Django: an app that has no migration at all.
SELECT slo_add_check('mig_django_noapp', 'migration',
                     '{"table": "django_migrations", "expect": "billing.0001_initial"}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false)
 WHERE check_name IN ('mig_prisma', 'mig_missing', 'mig_missing_schema', 'mig_unknown',
                      'mig_wrong_tool', 'mig_django_noapp')
 ORDER BY check_name;

-- A role without SELECT on the table gets an error, not a verdict.
CREATE ROLE regress_slo_mig_reader;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
   TO regress_slo_mig_reader;
SET ROLE regress_slo_mig_reader;
SELECT slo_add_check('mig_noperm', 'migration', '{"table": "public.alembic_version"}') > 0 AS added;
RESET ROLE;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'mig_noperm';

-- Validation: each mistake is refused with 22023 naming the key and value.
\set VERBOSITY default
SELECT slo_add_check('mig_bad', 'migration', '{}');
SELECT slo_add_check('mig_bad', 'migration', '{"tabel": "alembic_version"}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": 42}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": ""}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": null}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": "a.b.c"}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": "public."}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": "\"unterminated"}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": "alembic_version", "expect": 3}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": "alembic_version", "tool": "liquibase"}');
SELECT slo_add_check('mig_bad', 'migration', '{"table": "alembic_version", "tool": ["alembic"]}');
SELECT slo_add_check('mig_bad', 'migration', '["alembic_version"]');
-- A quoted, schema-qualified name is fine.
SELECT slo_add_check('mig_quoted', 'migration', '{"table": "\"public\".\"alembic_version\""}') > 0 AS added;
SELECT check_name, status, summary
  FROM slo_run_checks(false) WHERE check_name = 'mig_quoted';
SELECT count(*) AS bad_checks_added FROM slo_check WHERE name = 'mig_bad';

-- Clean up.
SELECT count(*) FILTER (WHERE slo_drop_check(name)) AS dropped
  FROM slo_check WHERE name LIKE 'mig\_%';
DROP TABLE alembic_version, supabase_migrations.schema_migrations, flyway_schema_history,
           django_migrations, _prisma_migrations, gomigrate.schema_migrations,
           rails.schema_migrations, mig_not_a_migration_table;
DROP SCHEMA supabase_migrations, gomigrate, rails;
REVOKE EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
    FROM regress_slo_mig_reader;
DROP ROLE regress_slo_mig_reader;
