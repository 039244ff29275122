-- Silences: while one matches a check (LIKE), results and alert state are kept,
-- slo_status() shows `silenced`, events are stored with notified = false (no NOTIFY,
-- hence no delivery); slo_unsilence sends the held-back firing event of an alert still
-- open, and nothing for one that resolved inside the silence; '%' is maintenance mode;
-- slo_silences() lists the active ones; bad input is refused with clear errors; an
-- on-call role silences with EXECUTE only. (Expiry through the worker: t/801.)
BEGIN;
SELECT plan(43);

CREATE TABLE sil_t (id int);
CREATE FUNCTION sil_run() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM slo_run_checks(false) $$;
CREATE FUNCTION sil_events(text) RETURNS text[] LANGUAGE sql AS
  $$ SELECT coalesce(array_agg(e.event || ':' || CASE WHEN e.notified THEN 'sent' ELSE 'held' END ORDER BY e.id), '{}')
       FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id WHERE a.check_name = $1 $$;
CREATE FUNCTION sil_state(text) RETURNS text LANGUAGE sql AS
  $$ SELECT state FROM slo_status() WHERE name = $1 $$;

SELECT slo_add_check('db_open', 'table_exists', '{"tables": ["sil_t"]}', 'P1') \g /dev/null
SELECT slo_add_check('db_gone', 'table_exists', '{"tables": ["sil_other"]}', 'P1') \g /dev/null
SELECT slo_add_check('app_x', 'table_exists', '{"tables": ["sil_t"]}', 'P2') \g /dev/null
SELECT sil_run() \g /dev/null

SELECT slo_silence('db\_%', '1 hour', 'deploy of v2.3') AS s1 \gset
SELECT ok(:s1 > 0, 'slo_silence returns an id');
SELECT is((SELECT pattern || '|' || reason || '|' || created_by FROM slo_silence WHERE id = :s1),
          'db\_%|deploy of v2.3|' || session_user, 'pattern, reason and who stored');
SELECT is((SELECT ends_at - starts_at FROM slo_silence WHERE id = :s1), interval '1 hour', 'ends an hour later');
SELECT is((SELECT array_agg(id) FROM slo_silences()), ARRAY[:s1::bigint], 'slo_silences() lists it');
SELECT is((SELECT checks FROM slo_silences()), 2::bigint, 'it matches two checks');
SELECT is(sil_state('db_open'), 'silenced', 'a matching ok check shows silenced');
SELECT is(sil_state('app_x'), 'ok', 'a check the pattern does not match is not silenced');

DROP TABLE sil_t;
SELECT sil_run() \g /dev/null
SELECT is((SELECT status FROM slo_status() WHERE name = 'db_open'), 'fail', 'results are still kept while silenced');
SELECT is(sil_state('db_open'), 'silenced', 'still shown silenced while failing');
SELECT ok((SELECT alert_id IS NOT NULL FROM slo_status() WHERE name = 'db_open'), 'its alert opened (state kept)');
SELECT is((SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'db_open'),
          2::bigint, 'both results stored');
SELECT is(sil_events('db_open'), '{firing:held}'::text[], 'the firing event is stored, not notified');
SELECT is((SELECT payload ->> 'event' FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
            WHERE a.check_name = 'db_open'), 'firing', 'the held event keeps its payload');
SELECT is(sil_events('app_x'), '{firing:sent}'::text[], 'an unsilenced check fires as always');
SELECT is(sil_events('db_gone'), '{firing:sent}'::text[], 'an alert that fired before the silence keeps its sent event');

-- db_gone resolves inside the silence: its resolved event is held, nothing is sent later
CREATE TABLE sil_other (id int);
SELECT sil_run() \g /dev/null
SELECT is(sil_events('db_gone'), '{firing:sent,resolved:held}'::text[], 'resolved inside the silence: held');

-- acknowledging a silenced alert: recorded, held
SELECT id AS open_id FROM slo_alert WHERE check_name = 'db_open' AND state = 'firing' \gset
SELECT slo_ack(:open_id) \g /dev/null
SELECT is(sil_events('db_open'), '{firing:held,acknowledged:held}'::text[], 'an ack while silenced is stored, held');

-- unsilence: the open alert's firing goes out now, once; the resolved one sends nothing
SELECT is(slo_unsilence(:s1), 1, 'slo_unsilence sends one held-back firing event');
SELECT is(sil_events('db_open'), '{firing:held,acknowledged:held,firing:sent}'::text[],
          'the open alert gets a firing event, notified');
SELECT is(sil_events('db_gone'), '{firing:sent,resolved:held}'::text[], 'the alert resolved inside sends nothing');
SELECT is((SELECT ended_by FROM slo_silence WHERE id = :s1), session_user::text, 'ended_by recorded');
SELECT ok((SELECT ended_at IS NOT NULL FROM slo_silence WHERE id = :s1), 'ended_at recorded');
SELECT is((SELECT count(*) FROM slo_silences()), 0::bigint, 'no active silence left');
SELECT is(sil_state('db_open'), 'firing', 'firing again in slo_status()');
SELECT sil_run() \g /dev/null
SELECT is(sil_events('db_open'), '{firing:held,acknowledged:held,firing:sent}'::text[], 'no further firing event after the next run');
SELECT throws_ok(format('SELECT slo_unsilence(%s)', :s1), '55000', NULL, 'unsilence twice: 55000');
SELECT throws_ok('SELECT slo_unsilence(987654321)', '42704', 'silence 987654321 does not exist', 'unknown silence: 42704');

-- maintenance mode
SELECT slo_silence('%', '30 minutes', 'maintenance window') AS s2 \gset
SELECT is((SELECT count(*) FROM slo_status() WHERE state <> 'silenced'), 0::bigint, '''%'' silences every check');
CREATE TABLE sil_t (id int);
SELECT sil_run() \g /dev/null
SELECT is(sil_events('db_open'), '{firing:held,acknowledged:held,firing:sent,resolved:held}'::text[],
          'maintenance mode holds the resolved event');
SELECT is(slo_unsilence(:s2), 0, 'nothing to send: the alert resolved inside');

-- a silence that expired with no worker to see it: slo_unsilence records the expiry
-- and sends what it held back
SELECT slo_silence('app%', '1 hour', 'no worker here') AS s4 \gset
DROP TABLE sil_t;
SELECT sil_run() \g /dev/null
UPDATE slo_silence SET starts_at = now() - interval '2 minutes', ends_at = now() - interval '1 minute'
 WHERE id = :s4;
SELECT is(slo_unsilence(:s4), 1, 'unsilence of an expired, unseen silence sends its held firing');
SELECT is(sil_events('app_x'), '{firing:sent,resolved:held,firing:held,firing:sent}'::text[],
          'the held firing event goes out');
SELECT is((SELECT ended_at = ends_at AND ended_by IS NULL FROM slo_silence WHERE id = :s4), true,
          'recorded as expired');

-- bad input
SELECT throws_ok($$SELECT slo_silence('', '1 hour', 'x')$$, '22023', 'invalid silence pattern ""', 'empty pattern');
SELECT throws_ok($$SELECT slo_silence('db\', '1 hour', 'x')$$, '22023', 'invalid silence pattern "db\"', 'pattern ending in the escape character');
SELECT throws_ok($$SELECT slo_silence(repeat('p', 300), '1 hour', 'x')$$, '22023', NULL, 'pattern too long');
SELECT throws_ok($$SELECT slo_silence('db%', '-5 minutes', 'x')$$, '22023', 'invalid silence duration: -00:05:00', 'negative duration');
SELECT throws_ok($$SELECT slo_silence('db%', '0', 'x')$$, '22023', 'invalid silence duration: 00:00:00', 'zero duration');
SELECT throws_ok($$SELECT slo_silence('db%', '2 years', 'x')$$, '22023', 'invalid silence duration: 2 years', 'over a year');
SELECT throws_ok($$SELECT slo_silence('db%', '1 hour', '  ')$$, '22023', 'argument "reason" must not be empty', 'empty reason');
SELECT throws_ok($$SELECT slo_silence('db%', NULL, 'x')$$, '22004', 'argument "duration" must not be null', 'NULL duration');

-- an on-call role: EXECUTE on slo_silence / slo_unsilence / slo_silences only
CREATE ROLE sil_oncall;
GRANT EXECUTE ON FUNCTION slo_silence(text, interval, text), slo_unsilence(bigint), slo_silences() TO sil_oncall;
SET ROLE sil_oncall;
SELECT slo_silence('app%', '10 minutes', 'investigating') AS s3 \gset
SELECT is((SELECT count(*) FROM slo_silences() WHERE id = :s3), 1::bigint, 'the on-call role silences and lists');
SELECT lives_ok(format('SELECT slo_unsilence(%s)', :s3), 'and unsilences, with EXECUTE only');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
