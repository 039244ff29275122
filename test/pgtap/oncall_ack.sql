-- slo_ack: who and when in slo_alert, one `acknowledged` event (notified, through the
-- one event writer), clear errors on a second ack, a resolved alert, an unknown id, a
-- NULL id or a note too long, never a second event; an on-call role with EXECUTE on
-- slo_ack only (no table grants) can ack.
BEGIN;
SELECT plan(30);

CREATE TABLE ack_target (id int);
SELECT slo_add_check('ack_a', 'table_exists', '{"tables": ["ack_missing"]}', 'P0',
                     labels => '{"category": "db_health"}') \g /dev/null
SELECT slo_add_check('ack_b', 'table_exists', '{"tables": ["ack_target"]}', 'P1') \g /dev/null
SELECT count(*) FROM slo_run_checks(false) \g /dev/null
DROP TABLE ack_target;
SELECT count(*) FROM slo_run_checks(false) \g /dev/null

SELECT (SELECT id FROM slo_alert WHERE check_name = 'ack_a') AS a_id,
       (SELECT id FROM slo_alert WHERE check_name = 'ack_b') AS b_id \gset
CREATE FUNCTION ack_events(bigint) RETURNS text[] LANGUAGE sql AS
  $$ SELECT coalesce(array_agg(event ORDER BY id), '{}') FROM slo_alert_event WHERE alert_id = $1 $$;

SELECT ok(:a_id IS NOT NULL AND :b_id IS NOT NULL, 'two firing alerts');
SELECT lives_ok(format('SELECT slo_ack(%s, %L)', :a_id, 'on it | see #123'), 'slo_ack with a note');
SELECT is((SELECT acknowledged_by FROM slo_alert WHERE id = :a_id), session_user::text,
          'acknowledged_by is the session user');
SELECT ok((SELECT acknowledged_at BETWEEN now() AND clock_timestamp() FROM slo_alert WHERE id = :a_id),
          'acknowledged_at is set to the time of the ack');
SELECT is((SELECT ack_note FROM slo_alert WHERE id = :a_id), 'on it | see #123', 'ack_note stored');
SELECT is((SELECT state FROM slo_alert WHERE id = :a_id), 'firing', 'the alert stays firing');
SELECT is(ack_events(:a_id), '{firing,acknowledged}'::text[], 'one acknowledged event');
SELECT is((SELECT notified FROM slo_alert_event WHERE alert_id = :a_id AND event = 'acknowledged'),
          true, 'the acknowledged event is notified');
SELECT is((SELECT payload ->> 'event' FROM slo_alert_event WHERE alert_id = :a_id AND event = 'acknowledged'),
          'acknowledged', 'payload event');
SELECT is((SELECT (payload ->> 'alert_id')::bigint FROM slo_alert_event WHERE alert_id = :a_id AND event = 'acknowledged'),
          :a_id::bigint, 'payload alert_id');
SELECT is((SELECT payload ->> 'severity' || '/' || (payload -> 'labels' ->> 'category') || '/' || (payload ->> 'check')
             FROM slo_alert_event WHERE alert_id = :a_id AND event = 'acknowledged'),
          'P0/db_health/ack_a', 'payload carries severity, labels and check');
SELECT is((SELECT summary FROM slo_alert_event WHERE alert_id = :a_id AND event = 'acknowledged'),
          'Acknowledged by ' || session_user || ': on it | see #123', 'event summary says who and the note');

-- errors, and never a second event
SELECT throws_ok(format('SELECT slo_ack(%s)', :a_id), '55000',
                 format('alert %s (check "ack_a") was already acknowledged by %s at %s', :a_id, session_user,
                        (SELECT acknowledged_at FROM slo_alert WHERE id = :a_id)),
                 'a second ack: 55000 naming the alert, who and when');
SELECT is(ack_events(:a_id), '{firing,acknowledged}'::text[], 'no second acknowledged event');
SELECT throws_ok('SELECT slo_ack(987654321)', '42704', 'alert 987654321 does not exist',
                 'unknown id: 42704 naming the id');
SELECT throws_ok('SELECT slo_ack(NULL)', '22004', 'argument "alert_id" must not be null', 'NULL id');
SELECT throws_ok(format('SELECT slo_ack(%s, repeat(''x'', 2000))', :b_id), '22023', NULL, 'a note over 1000 bytes is refused');
SELECT is(ack_events(:b_id), '{firing}'::text[], 'a refused ack leaves no event');

CREATE TABLE ack_target (id int);
SELECT count(*) FROM slo_run_checks(false) \g /dev/null
SELECT is((SELECT state FROM slo_alert WHERE id = :b_id), 'resolved', 'ack_b resolved');
SELECT throws_ok(format('SELECT slo_ack(%s)', :b_id), '55000',
                 format('alert %s (check "ack_b") is already resolved', :b_id), 'ack of a resolved alert: 55000');
SELECT is(ack_events(:b_id), '{firing,resolved}'::text[], 'no acknowledged event on a resolved alert');
SELECT is((SELECT acknowledged_at FROM slo_alert WHERE id = :b_id), NULL, 'resolved alert not marked acknowledged');

-- an on-call role with EXECUTE on slo_ack only (and slo_status to find the id)
DROP TABLE ack_target;
SELECT count(*) FROM slo_run_checks(false) \g /dev/null
SELECT id AS b2_id FROM slo_alert WHERE check_name = 'ack_b' AND state = 'firing' \gset
CREATE ROLE ack_oncall;
GRANT EXECUTE ON FUNCTION slo_ack(bigint, text), slo_status() TO ack_oncall;
SET ROLE ack_oncall;
SELECT throws_ok('SELECT count(*) FROM slo_alert', '42501', NULL, 'the on-call role cannot read slo_alert');
SELECT is((SELECT alert_id FROM slo_status() WHERE name = 'ack_b'), :b2_id::bigint, 'it finds the alert id in slo_status()');
SELECT lives_ok(format('SELECT slo_ack(%s, ''mine'')', :b2_id), 'it acknowledges with EXECUTE only');
RESET ROLE;
SELECT is((SELECT acknowledged_by || ':' || ack_note FROM slo_alert WHERE id = :b2_id), session_user || ':mine',
          'recorded with the session user and the note');
SELECT is(ack_events(:b2_id), '{firing,acknowledged}'::text[], 'its acknowledged event');

-- an objective's burn-rate alert (objective:<name>) is acknowledged the same way
SELECT slo_add_objective('ack_avail', 'ack_a', 0.99) \g /dev/null
INSERT INTO slo_alert (check_id, check_name, severity, state, detected_at, fired_at, status, value, summary)
SELECT alert_check_id, 'objective:ack_avail', 'P1', 'firing', now(), now(), 'fail', 20, 'burning'
  FROM slo_objective WHERE name = 'ack_avail'
RETURNING id AS obj_id \gset
SELECT lives_ok(format('SELECT slo_ack(%s, ''budget burn known'')', :obj_id), 'an objective alert is acknowledged');
SELECT is(ack_events(:obj_id), '{acknowledged}'::text[], 'with its acknowledged event');
SELECT is((SELECT payload ->> 'check' || '/' || (payload ->> 'kind') || '/' || (payload ->> 'severity')
             FROM slo_alert_event WHERE alert_id = :obj_id),
          'objective:ack_avail/objective/P1', 'payload names the objective alert, its kind and severity');

SELECT * FROM finish();
ROLLBACK;
