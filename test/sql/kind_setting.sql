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

-- The value judged is the one a new session of the check's owner would get; this
-- session's own SET never counts.  ALTER DATABASE / ALTER ROLE ... SET are read at each run.
CREATE FUNCTION pg_temp.set_db(name text, value text) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  IF value IS NULL THEN
    EXECUTE format('ALTER DATABASE %I RESET %s', current_database(), name);
  ELSE
    EXECUTE format('ALTER DATABASE %I SET %s = %L', current_database(), name, value);
  END IF;
END $$;
CREATE FUNCTION pg_temp.set_role(name text, value text, in_db bool DEFAULT false)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE format('ALTER ROLE %I %s %s', current_user,
                 CASE WHEN in_db THEN format('IN DATABASE %I', current_database()) ELSE '' END,
                 CASE WHEN value IS NULL THEN 'RESET ' || name
                      ELSE format('SET %s = %L', name, value) END);
END $$;

-- app.data_region is set nowhere: unset, whatever this session SETs.
SET app.data_region = 'canada-east';
SET TimeZone = 'Europe/Paris';
SET enable_seqscan = off;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'set\_%' ORDER BY check_name;
RESET TimeZone;
RESET enable_seqscan;
RESET app.data_region;

-- ALTER DATABASE: an allowed value, then another one, then the empty string (unset).
SELECT pg_temp.set_db('app.data_region', 'canada-east');
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
SELECT pg_temp.set_db('app.data_region', 'us-east-1');
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
-- a session SET to an allowed value changes nothing
SET app.data_region = 'canada-central';
SELECT set_config('app.data_region', 'canada-east', true) IS NOT NULL AS set_local;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
RESET app.data_region;
-- Case matters for custom values.
SELECT pg_temp.set_db('app.data_region', 'Canada-East');
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
SELECT pg_temp.set_db('app.data_region', '');
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
-- A long value is cut in the summary.
SELECT pg_temp.set_db('app.data_region', repeat('x', 150));
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
-- Precedence: ALTER ROLE (the owner) over ALTER DATABASE, ALTER ROLE IN DATABASE over both.
SELECT pg_temp.set_db('app.data_region', 'us-east-1');
SELECT pg_temp.set_role('app.data_region', 'canada-central');
SELECT check_name, status, summary, detail::jsonb->>'source' AS source
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
SELECT pg_temp.set_role('app.data_region', 'eu-west-1', true);
SELECT check_name, status, summary, detail::jsonb->>'source' AS source
  FROM slo_run_checks(false) WHERE check_name = 'set_region';
SELECT pg_temp.set_role('app.data_region', NULL, true);
SELECT pg_temp.set_role('app.data_region', NULL);
SELECT pg_temp.set_db('app.data_region', NULL);
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
-- It may judge it now, but the value (and the allowed values) are never printed.
SELECT check_name, status, value, summary,
       strpos(summary || detail, current_setting('data_directory')) = 0 AS value_not_shown,
       strpos(summary || detail, '/nowhere') = 0 AS allowed_not_shown
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

-- Values compare as the setting's type does: units, booleans, enums.
SELECT slo_add_check('set_units', 'setting', '{"name": "work_mem", "allowed": ["8MB"]}') > 0 AS added;
SELECT slo_add_check('set_bool', 'setting', '{"name": "enable_seqscan", "allowed": ["true"]}') > 0 AS added;
SET work_mem = '8MB';
SET enable_seqscan = off;
SELECT check_name, status, summary FROM slo_run_checks(false)
 WHERE check_name IN ('set_units', 'set_bool') ORDER BY 1;
RESET work_mem;
RESET enable_seqscan;
SELECT pg_temp.set_db('work_mem', '8192kB');
SELECT pg_temp.set_db('enable_seqscan', 'off');
SELECT check_name, status, summary FROM slo_run_checks(false)
 WHERE check_name IN ('set_units', 'set_bool') ORDER BY 1;
SELECT pg_temp.set_db('work_mem', NULL);
SELECT pg_temp.set_db('enable_seqscan', NULL);

-- Clean up.
SELECT count(*) FILTER (WHERE slo_drop_check(name)) AS dropped
  FROM slo_check WHERE name LIKE 'set\_%';
REVOKE EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
    FROM regress_slo_set_owner;
REVOKE pg_read_all_settings FROM regress_slo_set_owner;
DROP ROLE regress_slo_set_owner;
