-- Alert state machine: unknown -> ok -> pending -> firing -> resolved, fail_after,
-- error counts as failure, warn never pages but resolves, one alert per incident.
BEGIN;
SELECT plan(35);

CREATE TABLE st_target (id int);
CREATE FUNCTION st_state(text) RETURNS text LANGUAGE sql AS
  $$ SELECT state FROM slo_status() WHERE name = $1 $$;
CREATE FUNCTION st_run() RETURNS bigint LANGUAGE sql AS
  $$ SELECT count(*) FROM slo_run_checks(false) $$;
CREATE FUNCTION st_events(text) RETURNS text[] LANGUAGE sql AS
  $$ SELECT coalesce(array_agg(e.event ORDER BY e.id), '{}') FROM slo_alert_event e
       JOIN slo_alert a ON a.id = e.alert_id WHERE a.check_name = $1 $$;

SELECT ok(slo_add_check('st_fa3', 'table_exists', '{"tables": ["st_target"]}', 'P1',
                        fail_after => 3) > 0, 'check with fail_after 3 added');
SELECT is(st_state('st_fa3'), 'unknown', 'a new check is unknown before its first run');

SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'ok', 'ok after an ok result');

DROP TABLE st_target;
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'pending', 'first failure: pending');
SELECT is((SELECT alert_id FROM slo_status() WHERE name = 'st_fa3'), NULL, 'no alert while pending');
SELECT is(st_events('st_fa3'), '{}'::text[], 'no event while pending');
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'pending', 'second failure of three: still pending');
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'firing', 'third failure in a row: firing');
SELECT is(st_events('st_fa3'), '{firing}'::text[], 'one firing event');
SELECT is((SELECT count(*) FROM slo_alert WHERE check_name = 'st_fa3' AND state = 'firing'),
          1::bigint, 'one open alert');
SELECT ok((SELECT detected_at < fired_at FROM slo_alert WHERE check_name = 'st_fa3'),
          'detected at the first failure, fired at the third');
SELECT st_run() AS ran \gset
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'firing', 'still firing while it keeps failing');
SELECT is(st_events('st_fa3'), '{firing}'::text[], 'no repeated firing event');
SELECT is((SELECT count(*) FROM slo_alert WHERE check_name = 'st_fa3'), 1::bigint,
          'no second alert for the same incident');

CREATE TABLE st_target (id int);
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'ok', 'resolved on the next ok result');
SELECT is(st_events('st_fa3'), '{firing,resolved}'::text[], 'firing then resolved');
SELECT is((SELECT state FROM slo_alert WHERE check_name = 'st_fa3'), 'resolved', 'alert row resolved');
SELECT is((SELECT alert_id FROM slo_status() WHERE name = 'st_fa3'), NULL, 'status has no open alert');

-- pending that recovers never opens an alert, and the streak restarts
DROP TABLE st_target;
SELECT st_run() AS ran \gset
SELECT st_run() AS ran \gset
CREATE TABLE st_target (id int);
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'ok', 'two failures then ok: back to ok');
DROP TABLE st_target;
SELECT st_run() AS ran \gset
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'pending', 'streak restarted after the ok result');
SELECT is((SELECT count(*) FROM slo_alert WHERE check_name = 'st_fa3'), 1::bigint,
          'recovered pending opened no alert');
SELECT st_run() AS ran \gset
SELECT is((SELECT count(*) FROM slo_alert WHERE check_name = 'st_fa3'), 2::bigint,
          'a new incident is a new alert');

-- fail_after 1 fires at once
SELECT ok(slo_add_check('st_fa1', 'table_exists', '{"tables": ["st_nowhere"]}', 'P0') > 0, 'fail_after 1 check');
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa1'), 'firing', 'fail_after 1: firing on the first failure');
SELECT is((SELECT name FROM slo_status() LIMIT 1), 'st_fa1', 'firing P0 listed first');

-- error counts as a failure
SELECT ok(slo_add_check('st_err', 'sql', '{"query": "SELECT 1/0"}', fail_after => 2) > 0, 'erroring sql check');
SELECT st_run() AS ran \gset
SELECT is((SELECT status FROM slo_status() WHERE name = 'st_err'), 'error', 'division by zero is an error result');
SELECT is(st_state('st_err'), 'pending', 'first error: pending');
SELECT st_run() AS ran \gset
SELECT is(st_state('st_err'), 'firing', 'second error: firing');

-- warn does not page, but it resolves
SELECT ok(slo_add_check('st_warn', 'sql', '{"query": "SELECT 5", "warn_above": 3, "fail_above": 10}') > 0,
          'warn-level sql check');
SELECT st_run() AS ran \gset
SELECT is(st_state('st_warn'), 'warn', 'warn shows in the status');
SELECT is(st_events('st_warn'), '{}'::text[], 'warn does not open an alert');
SELECT slo_alter_check('st_warn', params => '{"query": "SELECT 50", "warn_above": 3, "fail_above": 10}') AS altered \gset
SELECT st_run() AS ran \gset
SELECT is(st_state('st_warn'), 'firing', 'over fail_above: firing');
SELECT slo_alter_check('st_warn', params => '{"query": "SELECT 5", "warn_above": 3, "fail_above": 10}') AS altered \gset
SELECT st_run() AS ran \gset
SELECT is(st_events('st_warn'), '{firing,resolved}'::text[], 'a warn result resolves the alert');

-- raising fail_after keeps a new incident pending longer
CREATE TABLE st_target (id int);
SELECT st_run() AS ran \gset
SELECT slo_alter_check('st_fa3', fail_after => 5) AS altered \gset
DROP TABLE st_target;
SELECT st_run() AS ran \gset
SELECT st_run() AS ran \gset
SELECT st_run() AS ran \gset
SELECT is(st_state('st_fa3'), 'pending', 'fail_after raised to 5: still pending after 3');

SELECT * FROM finish();
ROLLBACK;
