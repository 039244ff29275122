-- Issue 9: SloRunDueBatch, the run workers' entry point (called here through a
-- test-build-only wrapper): claims due checks in next_run order, stops after
-- max_checks, or once budget_ms has passed, or right after a check slower than
-- the budget; each batch writes its checks' results and state; claimed checks
-- not run are untouched; next_due is the earliest next_run of enabled checks.
BEGIN;
SELECT plan(13);

CREATE FUNCTION pg_temp.batch(int, int) RETURNS text
  AS 'slo_guard', 'slo_test_run_due_batch' LANGUAGE C STRICT;
UPDATE slo_check SET enabled = false \g /dev/null
SELECT slo_add_check('b' || lpad(i::text, 2, '0'), 'table_exists', '{"tables": ["pg_class"]}',
                     every => '1 hour') FROM generate_series(1, 25) i \g /dev/null
UPDATE slo_check_state s SET next_run = now() - interval '1 minute' + c.id * interval '1 ms'
  FROM slo_check c WHERE c.id = s.check_id AND c.name LIKE 'b%' \g /dev/null

SELECT is(split_part(pg_temp.batch(10, 10000), ' ', 1), '10', 'max_checks 10: ten checks ran');
SELECT is((SELECT string_agg(check_name, ',' ORDER BY check_name) FROM slo_result WHERE check_name LIKE 'b%'),
          'b01,b02,b03,b04,b05,b06,b07,b08,b09,b10', 'the ten due first (next_run order), results written');
SELECT is((SELECT count(*)::int FROM slo_status() WHERE name LIKE 'b%' AND state = 'ok'), 10,
          'their state written');
SELECT is(split_part(pg_temp.batch(10, 10000), ' ', 1) || ' ' || split_part(pg_temp.batch(10, 10000), ' ', 1),
          '10 5', 'the next batches run the rest, none twice');
SELECT is((SELECT count(*)::int FROM slo_result WHERE check_name LIKE 'b%'), 25, 'one result per check');
SELECT is(split_part(pg_temp.batch(10, 10000), ' ', 1), '0', 'nothing due: nothing ran');
SELECT ok(substr(pg_temp.batch(10, 10000), 3)::timestamptz
            = (SELECT min(next_run) FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id WHERE c.enabled),
          'next_due is the earliest next_run of the enabled checks');

-- a check slower than the budget ends the batch right after it
SELECT slo_add_check('b_slow', 'sql', '{"query": "SELECT 1 FROM pg_sleep(0.3)"}') \g /dev/null
UPDATE slo_check_state s SET next_run = now() - interval '1 hour'
  FROM slo_check c WHERE c.id = s.check_id AND c.name = 'b_slow' \g /dev/null
UPDATE slo_check_state s SET next_run = now() - interval '1 minute'
  FROM slo_check c WHERE c.id = s.check_id AND c.name IN ('b01', 'b02', 'b03') \g /dev/null
SELECT is(split_part(pg_temp.batch(10, 100), ' ', 1), '1',
          'budget 100 ms: the batch stops right after the 300 ms check');
SELECT is(split_part(pg_temp.batch(10, 100), ' ', 1), '3', 'the next batch runs the three fast ones');

-- a check that ran slowly last time runs only at the head of a batch: met later, the
-- batch ends before it, so it never holds other checks' claims while it runs
SELECT is((SELECT last_duration_ms > 250 FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id
            WHERE c.name = 'b_slow'), true, 'the state keeps how long the last run took');
UPDATE slo_check_state s SET next_run = now() - interval '1 minute' + CASE c.name
         WHEN 'b04' THEN interval '1 ms' WHEN 'b05' THEN interval '2 ms'
         WHEN 'b_slow' THEN interval '3 ms' WHEN 'b06' THEN interval '4 ms' END
  FROM slo_check c WHERE c.id = s.check_id AND c.name IN ('b04', 'b05', 'b_slow', 'b06') \g /dev/null
-- (budget 500 ms: "slowly" is more than half of it, and the 300 ms check is)
SELECT is(split_part(pg_temp.batch(10, 500), ' ', 1), '2',
          'a batch that meets the slow check after two fast ones ends before it');
SELECT is(split_part(pg_temp.batch(10, 500), ' ', 1), '2',
          'the next batch: the slow check at its head, then the last fast one');
SELECT is((SELECT count(*)::int FROM slo_result WHERE check_name = 'b_slow'), 2,
          'the slow check ran (once more), alone at the head of its batch');

SELECT * FROM finish();
ROLLBACK;
