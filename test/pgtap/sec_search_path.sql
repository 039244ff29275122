-- Issue 8: a check's search_path is its stored one with pg_temp moved explicitly
-- last, whatever the caller's session has; the caller's own search_path, settings
-- and temp tables are untouched by a pass.
BEGIN;
SELECT plan(13);

CREATE TABLE sp_shadowed (x int);
INSERT INTO sp_shadowed VALUES (1), (2);
CREATE TEMP TABLE sp_shadowed (x int);
INSERT INTO sp_shadowed VALUES (1), (2), (3), (4), (5);

-- added from a session whose search_path puts pg_temp first
SET search_path = pg_temp, public;
SELECT public.slo_add_check('sp_path', 'sql',
  '{"query": "SELECT (current_setting(''search_path'') = ''public, pg_temp'')::int"}') \g /dev/null
SELECT public.slo_add_check('sp_shadow', 'sql', '{"query": "SELECT count(*) FROM sp_shadowed"}') \g /dev/null
SELECT public.slo_add_check('sp_setter', 'sql',
  '{"query": "SELECT length(set_config(''search_path'', ''pg_catalog'', false)) + length(set_config(''work_mem'', ''64kB'', false))"}') \g /dev/null
SELECT is((SELECT search_path FROM public.slo_check WHERE name = 'sp_path'), 'pg_temp, public',
          'the caller''s search_path is stored as it was');
SET work_mem = '3MB';

CREATE TEMP TABLE sp_res AS SELECT * FROM public.slo_run_checks(false);

SELECT is((SELECT value FROM sp_res WHERE check_name = 'sp_path'), 1::float8,
          'the check ran with search_path "public, pg_temp"');
SELECT is((SELECT value FROM sp_res WHERE check_name = 'sp_shadow'), 2::float8,
          'an unqualified name reads the permanent table, not the caller''s temp table of that name');
SELECT is((SELECT status FROM sp_res WHERE check_name = 'sp_setter'), 'ok',
          'the check that sets settings ran');
SELECT is(current_setting('search_path'), 'pg_temp, public', 'the caller''s search_path is unchanged');
SELECT is(current_setting('work_mem'), '3MB', 'the caller''s work_mem is unchanged');
SELECT is((SELECT count(*) FROM sp_shadowed), 5::bigint, 'the caller still sees its temp table first');

-- a temp relation named explicitly is refused, naming it
SELECT public.slo_add_check('sp_explicit', 'sql', '{"query": "SELECT count(*) FROM pg_temp.sp_shadowed"}') \g /dev/null
SELECT matches((SELECT summary FROM public.slo_run_checks(false) WHERE check_name = 'sp_explicit'),
               'may not read temporary relation pg_temp_[0-9]+\.sp_shadowed',
               'a check naming a temp relation explicitly is an error naming it');
-- a temp view of the caller does not count as a watched table either
CREATE TEMP VIEW sp_view AS SELECT * FROM sp_shadowed;
SELECT public.slo_add_check('sp_view', 'table_exists', '{"tables": ["sp_view"]}') \g /dev/null
SELECT is((SELECT status FROM public.slo_run_checks(false) WHERE check_name = 'sp_view'), 'fail',
          'table_exists does not count a temp view');

-- the caller's SET values do not change what a check sees, and come back after it
SELECT public.slo_add_check('sp_nulleq', 'sql',
  '{"query": "SELECT count(*) FROM (SELECT 1 WHERE NULL = NULL) s", "fail_above": 0}') \g /dev/null
SELECT public.slo_add_check('sp_tz', 'sql',
  '{"query": "SELECT (current_setting(''TimeZone'') = ''Asia/Kolkata'')::int"}') \g /dev/null
SELECT public.slo_add_check('sp_datestyle', 'sql',
  '{"query": "SELECT extract(month FROM ''01/02/2026''::date)"}') \g /dev/null
SET transform_null_equals = on;
SET TimeZone = 'Asia/Kolkata';
SET DateStyle = 'ISO, DMY';
CREATE TEMP TABLE sp_res2 AS SELECT * FROM public.slo_run_checks(false);
SELECT is((SELECT status || ' ' || value FROM sp_res2 WHERE check_name = 'sp_nulleq'), 'ok 0',
          'the caller''s transform_null_equals does not turn NULL = NULL true inside a check');
SELECT is((SELECT value FROM sp_res2 WHERE check_name = 'sp_tz'), 0::float8,
          'the check sees the session default time zone, not the caller''s SET TimeZone');
SELECT is((SELECT value FROM sp_res2 WHERE check_name = 'sp_datestyle'), 1::float8,
          'the check parses dates with the default DateStyle (MDY), not the caller''s DMY');
SELECT is(current_setting('transform_null_equals') || ' ' || current_setting('DateStyle') || ' ' || current_setting('TimeZone'),
          'on ISO, DMY Asia/Kolkata', 'the caller''s settings are back after the pass');

SELECT * FROM finish();
ROLLBACK;
