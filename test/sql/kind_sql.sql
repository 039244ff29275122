-- Check kind "sql": thresholds, result shapes and types, read-only execution, the
-- owner's privileges, the timeout, and every validation error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

CREATE TABLE sqlk_jobs (id int, state text, secret text);
INSERT INTO sqlk_jobs SELECT g, CASE WHEN g <= 12 THEN 'queued' ELSE 'done' END, 'pw' || g
  FROM generate_series(1, 20) g;

-- Thresholds above: 12 queued jobs.
SELECT slo_add_check('sql_above_ok', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''queued''", "warn_above": 20, "fail_above": 50}') > 0 AS added;
SELECT slo_add_check('sql_above_warn', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''queued''", "warn_above": 10, "fail_above": 50}') > 0 AS added;
SELECT slo_add_check('sql_above_fail', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''queued''", "warn_above": 5, "fail_above": 11.5}') > 0 AS added;
-- Equal to a threshold is not above it.
SELECT slo_add_check('sql_above_equal', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''queued''", "fail_above": 12}') > 0 AS added;
-- Thresholds below: 8 done jobs.
SELECT slo_add_check('sql_below_ok', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''done''", "warn_below": 5, "fail_below": 1}') > 0 AS added;
SELECT slo_add_check('sql_below_warn', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''done''", "warn_below": 10, "fail_below": 1}') > 0 AS added;
SELECT slo_add_check('sql_below_fail', 'sql',
                     '{"query": "SELECT count(*) FROM sqlk_jobs WHERE state = ''done''", "warn_below": 10, "fail_below": 9}') > 0 AS added;
-- Only warn thresholds, both sides, negative numbers.
SELECT slo_add_check('sql_band', 'sql',
                     '{"query": "SELECT -3.5::float8", "warn_above": 0, "warn_below": -10}') > 0 AS added;
-- No thresholds: always ok, the value is recorded.
SELECT slo_add_check('sql_value_only', 'sql', '{"query": "SELECT 0.25::numeric"}') > 0 AS added;
-- Types: bigint, real, numeric, text that is a number, VALUES, WITH, a trailing semicolon.
SELECT slo_add_check('sql_type_int2', 'sql', '{"query": "SELECT 7::int2"}') > 0 AS added;
SELECT slo_add_check('sql_type_int8', 'sql', '{"query": "SELECT 5000000000::bigint"}') > 0 AS added;
SELECT slo_add_check('sql_type_real', 'sql', '{"query": "SELECT 1.5::real"}') > 0 AS added;
SELECT slo_add_check('sql_type_text', 'sql', '{"query": "SELECT '' 42.5 ''::text"}') > 0 AS added;
SELECT slo_add_check('sql_type_values', 'sql', '{"query": "VALUES (3)", "fail_above": 2}') > 0 AS added;
SELECT slo_add_check('sql_type_with', 'sql',
                     '{"query": "WITH q AS (SELECT id FROM sqlk_jobs) SELECT max(id) FROM q;", "fail_below": 100}') > 0 AS added;

SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'sql\_%' ORDER BY check_name;

-- The value follows the data.
UPDATE sqlk_jobs SET state = 'queued' WHERE id <= 15;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('sql_above_ok', 'sql_below_warn') ORDER BY check_name;

-- Shapes that are not one number are errors; the summary never shows row content.
SELECT slo_add_check('sqlx_no_rows', 'sql', '{"query": "SELECT id FROM sqlk_jobs WHERE false"}') > 0 AS added;
SELECT slo_add_check('sqlx_two_rows', 'sql', '{"query": "SELECT id FROM sqlk_jobs"}') > 0 AS added;
SELECT slo_add_check('sqlx_two_cols', 'sql', '{"query": "SELECT 1, 2"}') > 0 AS added;
SELECT slo_add_check('sqlx_no_cols', 'sql', '{"query": "SELECT"}') > 0 AS added;
SELECT slo_add_check('sqlx_null', 'sql', '{"query": "SELECT max(id) FROM sqlk_jobs WHERE false"}') > 0 AS added;
SELECT slo_add_check('sqlx_text', 'sql', '{"query": "SELECT secret FROM sqlk_jobs WHERE id = 1"}') > 0 AS added;
SELECT slo_add_check('sqlx_bool', 'sql', '{"query": "SELECT true"}') > 0 AS added;
SELECT slo_add_check('sqlx_nan', 'sql', '{"query": "SELECT ''NaN''::float8"}') > 0 AS added;
-- A query that fails at run time (division by zero) and one naming a missing table.
SELECT slo_add_check('sqlx_div', 'sql', '{"query": "SELECT 1 / (count(*) - count(*)) FROM sqlk_jobs"}') > 0 AS added;
SELECT slo_add_check('sqlx_missing', 'sql', '{"query": "SELECT count(*) FROM sqlk_not_there"}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'sqlx\_%' ORDER BY check_name;

-- Read-only: not even a function the query calls may write.
CREATE FUNCTION sqlk_sneaky() RETURNS int LANGUAGE plpgsql AS
  $$BEGIN DELETE FROM sqlk_jobs; RETURN 1; END$$;
SELECT slo_add_check('sqlr_sneaky', 'sql', '{"query": "SELECT sqlk_sneaky()"}') > 0 AS added;
BEGIN;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'sqlr_sneaky';
-- ... and the rest of the transaction may still write.
SELECT current_setting('transaction_read_only') AS read_only;
UPDATE sqlk_jobs SET state = 'done' WHERE id = 1;
COMMIT;
SELECT count(*) AS jobs_left FROM sqlk_jobs;

-- The check runs as the role that added it: without SELECT on the table, an error.
CREATE ROLE regress_slo_sql_owner;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
   TO regress_slo_sql_owner;
SET ROLE regress_slo_sql_owner;
SELECT slo_add_check('sqlr_noperm', 'sql', '{"query": "SELECT count(*) FROM sqlk_jobs"}') > 0 AS added;
SELECT slo_add_check('sqlr_whoami', 'sql',
                     '{"query": "SELECT CASE WHEN current_user = ''regress_slo_sql_owner'' THEN 1 ELSE 0 END", "fail_below": 1}') > 0 AS added;
RESET ROLE;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('sqlr_noperm', 'sqlr_whoami') ORDER BY check_name;
GRANT SELECT ON sqlk_jobs TO regress_slo_sql_owner;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'sqlr_noperm';

-- The timeout cancels a slow query; it is recorded as an error and the pass goes on.
SELECT slo_add_check('sqlr_slow', 'sql', '{"query": "SELECT 1 FROM pg_sleep(5)", "timeout": "200 ms"}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('sqlr_slow', 'sqlr_whoami') ORDER BY check_name;
SELECT duration_ms < 4000 AS cancelled_early
  FROM slo_run_checks(false) WHERE check_name = 'sqlr_slow';

-- Validation: each mistake is refused with 22023 naming the key and value.
SELECT slo_add_check('sql_bad', 'sql', '{}');
SELECT slo_add_check('sql_bad', 'sql', '{"qeury": "SELECT 1"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": 1}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELCT 1"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT (1"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT ''unterminated"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": ";"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1; SELECT 2"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1; DROP TABLE sqlk_jobs"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "DELETE FROM sqlk_jobs RETURNING 1"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT count(*) INTO sqlk_copy FROM sqlk_jobs"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT id FROM sqlk_jobs FOR UPDATE"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "WITH d AS (DELETE FROM sqlk_jobs RETURNING 1) SELECT count(*) FROM d"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "EXPLAIN SELECT 1"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "warn_above": "10"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "fail_below": true}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "warn_above": 60, "fail_above": 50}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "warn_below": 1, "fail_below": 5}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "timeout": "soon"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "timeout": 5}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "timeout": "-1 second"}');
SELECT slo_add_check('sql_bad', 'sql', '{"query": "SELECT 1", "timeout": null}');
SELECT slo_add_check('sql_bad', 'sql', '"SELECT 1"');
-- Altering a check validates its params the same way.
SELECT slo_alter_check('sql_above_ok', params => '{"query": "UPDATE sqlk_jobs SET state = ''x''"}');
SELECT count(*) AS bad_checks_added FROM slo_check WHERE name = 'sql_bad';

-- Clean up.
SELECT count(*) FILTER (WHERE slo_drop_check(name)) AS dropped
  FROM slo_check WHERE name LIKE 'sql%\_%';
DROP FUNCTION sqlk_sneaky();
DROP TABLE sqlk_jobs;
REVOKE EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
    FROM regress_slo_sql_owner;
DROP ROLE regress_slo_sql_owner;
