-- Check kind "window": percentiles and failed-result rates of a real sql check's
-- results, fed by updating the table its query reads between passes; the window's
-- edge, no data, a missing or self-referencing "of", keep_ok_results = changes, and
-- every validation error.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

-- The watched check: an "API latency" that a test table provides, failing over 450.
CREATE TABLE win_latency (ms float8);
INSERT INTO win_latency VALUES (100);
SELECT slo_add_check('win_api_latency', 'sql',
                     '{"query": "SELECT ms FROM win_latency", "fail_above": 450}') > 0 AS added;

-- No results yet: ok, no value, and the summary says there is nothing to judge.
SELECT slo_add_check('win_p95', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "warn_above": 400, "fail_above": 450}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'win\_%' ORDER BY check_name;

-- Five passes: 100 (already run), 200, 300, 400, 500 ms. A window sees the results
-- of the previous passes (a pass writes its results at its end).
UPDATE win_latency SET ms = 200;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_api_latency';
UPDATE win_latency SET ms = 300;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_api_latency';
UPDATE win_latency SET ms = 400;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_api_latency';
UPDATE win_latency SET ms = 500;
SELECT check_name, status, value FROM slo_run_checks(false)
 WHERE check_name = 'win_api_latency';
SELECT status, value FROM slo_result r JOIN slo_check c ON c.id = r.check_id
 WHERE c.name = 'win_api_latency' ORDER BY r.id;

-- Disable the source so the next passes do not add results; the windows read
-- 100..500: p95 480 (over fail_above 450), median 300, p80 420, max 500.
SELECT slo_alter_check('win_api_latency', enabled => false) > 0 AS disabled;
SELECT slo_add_check('win_median', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "percentile": 0.5, "fail_above": 450}') > 0 AS added;
SELECT slo_add_check('win_p80', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "percentile": 0.8, "warn_above": 400, "fail_above": 500}') > 0 AS added;
SELECT slo_add_check('win_max', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "percentile": 1}') > 0 AS added;
-- Failed results: 1 of 5 (the 500 ms result) = 20 %.
SELECT slo_add_check('win_rate_fail', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "fail_rate": true, "fail_above": 0.15}') > 0 AS added;
SELECT slo_add_check('win_rate_warn', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "fail_rate": true, "warn_above": 0.1, "fail_above": 0.5}') > 0 AS added;
SELECT slo_add_check('win_rate_ok', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "fail_rate": true, "fail_above": 0.2}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'win\_%' ORDER BY check_name;
SELECT detail - 'of_check_id' AS detail
  FROM slo_run_checks(false) WHERE check_name IN ('win_p95', 'win_rate_fail')
 ORDER BY check_name;

-- The window's edge: results older than 5 minutes do not count. Move the three
-- oldest (100, 200, 300) back 10 minutes: p95 of 400 and 500 is 495.
UPDATE slo_result SET at = at - interval '10 minutes'
 WHERE id IN (SELECT r.id FROM slo_result r JOIN slo_check c ON c.id = r.check_id
               WHERE c.name = 'win_api_latency' ORDER BY r.id LIMIT 3);
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('win_p95', 'win_rate_fail') ORDER BY check_name;
-- All of them out of the window: no data, ok (the source says it is disabled).
UPDATE slo_result SET at = at - interval '10 minutes'
 WHERE check_id = (SELECT id FROM slo_check WHERE name = 'win_api_latency');
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('win_p95', 'win_rate_fail') ORDER BY check_name;

-- Results without a value (a check that errors): no percentile, but a failed rate.
SELECT slo_add_check('win_broken', 'sql', '{"query": "SELECT 1 / (count(*) - count(*)) FROM win_latency"}') > 0 AS added;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_broken';
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_broken';
SELECT slo_alter_check('win_broken', enabled => false) > 0 AS disabled;
SELECT slo_add_check('win_broken_p95', 'window', '{"of": "win_broken", "window": "1 hour", "fail_above": 1}') > 0 AS added;
SELECT slo_add_check('win_broken_rate', 'window',
                     '{"of": "win_broken", "window": "1 hour", "fail_rate": true, "fail_above": 0.2}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'win\_broken\_%' ORDER BY check_name;

-- A check that does not exist (yet), or the window itself: error, the window is blind.
SELECT slo_add_check('win_of_missing', 'window', '{"of": "win_not_yet", "window": "5 minutes"}') > 0 AS added;
SELECT slo_add_check('win_self', 'window', '{"of": "win_self", "window": "5 minutes"}') > 0 AS added;
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name IN ('win_of_missing', 'win_self') ORDER BY check_name;
-- Once the check exists, the window reads it.
SELECT slo_add_check('win_not_yet', 'sql', '{"query": "SELECT 7"}') > 0 AS added;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_not_yet';
SELECT check_name, status, value, summary
  FROM slo_run_checks(false) WHERE check_name = 'win_of_missing';

-- The values of a kind marked value_is_latency are milliseconds: the summary says so
-- (test_async, the test builds' asynchronous kind; later http).
SELECT slo_add_check('win_http', 'sql', '{"query": "SELECT 1"}') AS http_id \gset
UPDATE slo_check SET kind = 'test_async', enabled = false WHERE id = :http_id;
INSERT INTO slo_result (check_id, check_name, at, status, value, summary)
SELECT :http_id, 'win_http', now() - g * interval '1 second', 'ok', 100 * g, 'synthetic'
  FROM generate_series(1, 10) g;
SELECT slo_add_check('win_http_p95', 'window', '{"of": "win_http", "window": "5 minutes", "fail_above": 450}') > 0 AS added;
SELECT check_name, status, round(value) AS value, summary
  FROM slo_run_checks(false) WHERE check_name = 'win_http_p95';
SELECT slo_drop_check('win_http');

-- keep_ok_results = changes stores only changes of status, so a run of ok results
-- leaves one row: the failed rate counts the runs the check should have made in the
-- window (1 hour / 1 minute = 60) instead of the rows stored.
SET slo_guard.keep_ok_results = 'changes';
CREATE TABLE win_health (up int);
INSERT INTO win_health VALUES (1);
SELECT slo_add_check('win_health', 'sql', '{"query": "SELECT up FROM win_health", "fail_below": 1}') AS health_id \gset
UPDATE slo_check SET created_at = now() - interval '2 hours' WHERE id = :health_id;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_health';
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_health';
UPDATE win_health SET up = 0;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_health';
UPDATE win_health SET up = 1;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_health';
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'win_health';
SELECT status FROM slo_result WHERE check_id = :health_id ORDER BY id;
SELECT slo_alter_check('win_health', enabled => false) > 0 AS disabled;
SELECT slo_add_check('win_health_rate', 'window',
                     '{"of": "win_health", "window": "1 hour", "fail_rate": true, "fail_above": 0.2}') > 0 AS added;
SELECT check_name, status, round(value::numeric, 4) AS value, summary,
       detail->'runs' AS runs, detail->'runs_estimated' AS estimated
  FROM slo_run_checks(false) WHERE check_name = 'win_health_rate';
RESET slo_guard.keep_ok_results;
SELECT check_name, status, round(value::numeric, 4) AS value, summary
  FROM slo_run_checks(false) WHERE check_name = 'win_health_rate';

-- The runbook's rule as typed: "alert if any 5-minute window exceeds 450 ms".
SELECT slo_add_check('win_runbook', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "percentile": 0.95, "fail_above": 450}',
                     severity => 'P1') > 0 AS added;

-- Validation: each mistake is refused with 22023 naming the key and value.
SELECT slo_add_check('win_bad', 'window', '{}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency"}');
SELECT slo_add_check('win_bad', 'window', '{"window": "5 minutes"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "", "window": "5 minutes"}');
SELECT slo_add_check('win_bad', 'window', '{"of": 5, "window": "5 minutes"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "soon"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "-5 minutes"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "0 seconds"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": 300}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "percentile": 0}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "percentile": 1.5}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "percentile": -0.5}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "percentile": "p95"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "percentile": 0.9, "fail_rate": true}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "fail_rate": "yes"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "fail_rate": true, "fail_above": 20}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "fail_rate": true, "warn_above": -0.1}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "warn_above": 500, "fail_above": 450}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "fail_above": "450 ms"}');
SELECT slo_add_check('win_bad', 'window', '{"of": "win_api_latency", "window": "5 minutes", "check": "x"}');
SELECT slo_alter_check('win_p95', params => '{"of": "win_api_latency", "window": "5 minutes", "percentile": 2}');
SELECT count(*) AS bad_checks_added FROM slo_check WHERE name = 'win_bad';
-- percentile with "fail_rate": false is a percentile.
SELECT slo_add_check('win_explicit', 'window',
                     '{"of": "win_api_latency", "window": "5 minutes", "percentile": 0.99, "fail_rate": false}') > 0 AS added;

-- Clean up.
DROP EXTENSION slo_guard;
DROP TABLE win_latency, win_health;
