-- Issue 9: the asynchronous kind interface (start / poll / finish / release),
-- through test_async, the test builds' asynchronous kind (-DSLO_TEST_KINDS):
-- every async check of a pass is started before any is polled, so ten checks
-- of 300 ms take about 300 ms, not 3 s; a finish that throws, a check past its
-- timeout and an immediate answer from start are each that check's result;
-- kind metadata replaces code that named kinds (timeout_param, value_is_latency).
BEGIN;
SELECT plan(12);

UPDATE slo_check SET enabled = false \g /dev/null
SELECT slo_add_check('as' || i, 'test_async', '{"ms": 300}') FROM generate_series(1, 10) i \g /dev/null
SELECT slo_add_check('as_now', 'test_async', '{"ms": 0}') \g /dev/null
SELECT slo_add_check('as_fail', 'test_async', '{"ms": 50, "fail_in_finish": true}') \g /dev/null
SELECT slo_add_check('as_slow', 'test_async', '{"ms": 5000, "timeout": "200ms"}') \g /dev/null
SELECT slo_add_check('as_sync', 'table_exists', '{"tables": ["pg_class"]}') \g /dev/null

CREATE TEMP TABLE got AS SELECT clock_timestamp() AS t0, NULL::timestamptz AS t1 \g /dev/null
CREATE TEMP TABLE r AS SELECT * FROM slo_run_checks(false) \g /dev/null
UPDATE got SET t1 = clock_timestamp() \g /dev/null

SELECT is((SELECT count(*)::int FROM r), 14, 'every check returned a result');
SELECT is((SELECT count(*)::int FROM r WHERE check_name ~ '^as[0-9]+$' AND status = 'ok'
             AND value >= 290 AND summary LIKE 'Done after % ms (%'), 10,
          'ten async checks finished ok, value = elapsed ms');
SELECT cmp_ok((SELECT extract(epoch FROM t1 - t0) FROM got)::numeric, '<', 1.5,
          'the ten 300 ms checks were in flight together (the pass took < 1.5 s, not 3 s)');
SELECT is((SELECT detail->>'polls' IS NOT NULL FROM r WHERE check_name = 'as1'), true,
          'finish''s detail is stored as jsonb');
SELECT is((SELECT status || ': ' || summary FROM r WHERE check_name = 'as_now'),
          'ok: Done at once (no polling).', 'start may answer at once (never polled)');
SELECT is((SELECT status FROM r WHERE check_name = 'as_fail'), 'error',
          'an error thrown by finish is that check''s error');
SELECT matches((SELECT summary FROM r WHERE check_name = 'as_fail'),
          'failed in finish as asked \(SQLSTATE 22023\)', 'with its message and SQLSTATE');
SELECT is((SELECT status || ': ' || summary FROM r WHERE check_name = 'as_slow'),
          'error: Check timed out after 200 ms and was cancelled.',
          'an async check still pending at its timeout (its timeout_param, 200ms) is timed out');
SELECT is((SELECT status FROM r WHERE check_name = 'as_sync'), 'ok',
          'a synchronous check in the same pass runs as before');
SELECT is((SELECT count(*)::int FROM slo_result WHERE check_name ~ '^as(_|[0-9])'), 14,
          'every result stored once');
SELECT is((SELECT count(*)::int FROM slo_status() WHERE name = 'as_slow' AND state = 'firing'), 1,
          'the timed-out async check fires like any failing check');

-- value_is_latency: a window over test_async values says "ms" (no kind name in window.c)
SELECT slo_add_check('as_p95', 'window', '{"of": "as1", "window": "5 minutes"}') \g /dev/null
SELECT matches((SELECT summary FROM slo_run_checks(false) WHERE check_name = 'as_p95'),
          '^p95 of as1 over the last 5 minutes is [0-9.]+ ms',
          'window reads the kind''s value_is_latency flag: values in ms');

SELECT * FROM finish();
ROLLBACK;
