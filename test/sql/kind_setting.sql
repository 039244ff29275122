-- Check kind "setting": built-in and custom settings, unset, not allowed, privileges,
-- and every validation error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

SELECT slo_add_check('set_region', 'setting',
                     '{"name": "app.data_region", "allowed": ["canada-central", "canada-east"]}') > 0 AS added;
SELECT slo_add_check('set_never_defined', 'setting',
                     '{"name": "app.never_defined_region", "allowed": ["canada-central"]}') > 0 AS added;
-- Built-in settings, named in any case; values compare as SHOW prints them.
SELECT slo_add_check('set_timezone', 'setting', '{"name": "TimeZone", "allowed": ["UTC"]}') > 0 AS added;
SELECT slo_add_check('set_seqscan', 'setting', '{"name": "enable_seqscan", "allowed": ["on"]}') > 0 AS added;
SET TimeZone = 'UTC';
SET enable_seqscan = off;

-- app.data_region is not defined in this session yet: unset.
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'set\_%' ORDER BY check_name;
SET TimeZone = 'Europe/Paris';
SET enable_seqscan = true;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('set_timezone', 'set_seqscan') ORDER BY check_name;
RESET TimeZone;
RESET enable_seqscan;

-- Set to an allowed value, then to another one, then to the empty string (unset).
SET app.data_region = 'canada-east';
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
SET app.data_region = 'us-east-1';
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
-- Case matters for custom values.
SET app.data_region = 'Canada-East';
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
SET app.data_region = '';
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
-- A long value is cut in the summary.
SELECT set_config('app.data_region', repeat('x', 150), false) IS NOT NULL AS set;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
RESET app.data_region;
SELECT check_name, detail::jsonb
  FROM slo_run_checks(false) WHERE check_name = 'set_region';

-- A setting only superusers (or pg_read_all_settings) may see is an error for
-- other owners, not a way to read it.
CREATE ROLE regress_slo_set_owner;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
   TO regress_slo_set_owner;
SET ROLE regress_slo_set_owner;
SELECT slo_add_check('set_hidden', 'setting',
                     '{"name": "data_directory", "allowed": ["/nowhere"]}') > 0 AS added;
RESET ROLE;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_hidden';
GRANT pg_read_all_settings TO regress_slo_set_owner;
SELECT check_name, status, value, summary LIKE 'data_directory is "%"; allowed: "/nowhere".' AS summary_ok
  FROM slo_run_checks(false) WHERE check_name = 'set_hidden';

-- Validation: each mistake is refused with 22023 naming the key and value.
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data_region"}');
SELECT slo_add_check('set_bad', 'setting', '{"allowed": ["canada-central"]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data_region", "allowed": []}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data_region", "allowed": "canada-central"}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data_region", "allowed": ["canada-central", ""]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data_region", "allowed": [1]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": 5, "allowed": ["x"]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "1region", "allowed": ["x"]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app..region", "allowed": ["x"]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data region", "allowed": ["x"]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.", "allowed": ["x"]}');
SELECT slo_add_check('set_bad', 'setting', '{"name": "app.data_region", "allowed": ["x"], "default": "x"}');
SELECT count(*) AS bad_checks_added FROM slo_check WHERE name = 'set_bad';

-- ALTER DATABASE ... SET is seen at once, even by a session (such as the worker) that
-- connected before it and still has the old value in its own GUC.
SELECT slo_add_check('set_dbwide', 'setting',
                     '{"name": "app.region_test", "allowed": ["canada-central"]}') > 0 AS added;
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET app.region_test = %L',
                           current_database(), 'us-east-1'); END $$;
SELECT coalesce(current_setting('app.region_test', true), '') <> 'us-east-1' AS session_value_is_stale;
SELECT status, summary FROM slo_run_checks(false) WHERE check_name = 'set_dbwide';
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I SET app.region_test = %L',
                           current_database(), 'canada-central'); END $$;
SELECT status, summary FROM slo_run_checks(false) WHERE check_name = 'set_dbwide';
DO $$ BEGIN EXECUTE format('ALTER DATABASE %I RESET app.region_test', current_database()); END $$;
SELECT status, summary FROM slo_run_checks(false) WHERE check_name = 'set_dbwide';

-- Values compare as SHOW prints them, units included.
SET work_mem = '8MB';
SELECT slo_add_check('set_units', 'setting', '{"name": "work_mem", "allowed": ["8MB"]}') > 0 AS added;
SELECT status, summary FROM slo_run_checks(false) WHERE check_name = 'set_units';
RESET work_mem;

-- Clean up.
SELECT count(*) FILTER (WHERE slo_drop_check(name)) AS dropped
  FROM slo_check WHERE name LIKE 'set\_%';
REVOKE EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
    FROM regress_slo_set_owner;
REVOKE pg_read_all_settings FROM regress_slo_set_owner;
DROP ROLE regress_slo_set_owner;
