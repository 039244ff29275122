-- Objectives (issue 13): rollups through the real run path equal counts over raw
-- results (and stay exact when keep_ok_results drops ok results); achieved ratio,
-- budget and every burn rate from rollups with known timestamps, against values
-- worked out by hand; a calendar month across the month boundary; the burn-rate
-- alert P1 -> P2 -> resolved on one alert; low traffic; the budget gate; ownership,
-- validation and the internal check's protection.
BEGIN;
SELECT plan(64);

CREATE TABLE obj_lat (v float8);
INSERT INTO obj_lat VALUES (100);
CREATE FUNCTION obj_run() RETURNS bigint LANGUAGE sql AS
  $$ SELECT count(*) FROM slo_run_checks(false) $$;
CREATE FUNCTION obj_set(float8) RETURNS bigint LANGUAGE sql AS
  $$ UPDATE obj_lat SET v = $1; SELECT count(*) FROM slo_run_checks(false) $$;
-- rollups of an objective by name: good, total summed over minutes and over hours
CREATE FUNCTION obj_roll(text, OUT mg bigint, OUT mt bigint, OUT hg bigint, OUT ht bigint)
LANGUAGE sql AS $$
  SELECT (SELECT sum(m.good) FROM slo_objective_minute m WHERE m.objective_id = o.id)::bigint,
         (SELECT sum(m.total) FROM slo_objective_minute m WHERE m.objective_id = o.id)::bigint,
         (SELECT sum(h.good) FROM slo_objective_hour h WHERE h.objective_id = o.id)::bigint,
         (SELECT sum(h.total) FROM slo_objective_hour h WHERE h.objective_id = o.id)::bigint
    FROM slo_objective o WHERE o.name = $1 $$;
-- write known counts at a known time into both rollups (as the run path would)
CREATE FUNCTION obj_put(text, timestamptz, bigint, bigint) RETURNS void LANGUAGE sql AS $$
  INSERT INTO slo_objective_minute AS r
  SELECT o.id, to_timestamp(floor(extract(epoch FROM $2) / 60) * 60), $3, $4
    FROM slo_objective o WHERE o.name = $1
  ON CONFLICT (objective_id, minute) DO UPDATE SET good = r.good + excluded.good, total = r.total + excluded.total;
  INSERT INTO slo_objective_hour AS r
  SELECT o.id, to_timestamp(floor(extract(epoch FROM $2) / 3600) * 3600), $3, $4
    FROM slo_objective o WHERE o.name = $1
  ON CONFLICT (objective_id, hour) DO UPDATE SET good = r.good + excluded.good, total = r.total + excluded.total $$;
CREATE FUNCTION obj_clear(text) RETURNS void LANGUAGE sql AS $$
  DELETE FROM slo_objective_minute WHERE objective_id = (SELECT id FROM slo_objective WHERE name = $1);
  DELETE FROM slo_objective_hour WHERE objective_id = (SELECT id FROM slo_objective WHERE name = $1) $$;
CREATE FUNCTION obj_alert(text) RETURNS TABLE (id bigint, severity text, state text) LANGUAGE sql AS $$
  SELECT a.id, a.severity, a.state FROM slo_alert a WHERE a.check_name = 'objective:' || $1
   ORDER BY a.id DESC LIMIT 1 $$;
CREATE FUNCTION obj_events(text) RETURNS text[] LANGUAGE sql AS $$
  SELECT coalesce(array_agg(e.event || ':' || (e.payload ->> 'severity') ORDER BY e.id), '{}')
    FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
   WHERE a.check_name = 'objective:' || $1 $$;

-- ---- rollups through the real path ----
SELECT slo_add_check('obj_api', 'sql', '{"query": "SELECT v FROM obj_lat", "fail_above": 1000}') \g /dev/null
SELECT ok(slo_add_objective('obj_p95', 'obj_api', 0.95, good_below => 400) > 0,
          'objective with good_below added');
SELECT ok(slo_add_objective('obj_avail', 'obj_api', 0.9) > 0, 'availability objective added');
SELECT is((SELECT kind || ' ' || severity || ' ' || every::text FROM slo_check WHERE name = 'objective:obj_p95'),
          'objective P3 00:01:00', 'each objective owns a check objective:<name> running every minute');

-- keep_ok_results = all: the rollups equal counts over the raw results
SET LOCAL slo_guard.keep_ok_results = 'all';
SELECT obj_set(100) \g /dev/null
SELECT obj_set(400) \g /dev/null
SELECT obj_set(500) \g /dev/null
SELECT obj_set(5000) \g /dev/null
SELECT obj_set(100) \g /dev/null
SELECT is((SELECT (mg, mt, hg, ht)::text FROM obj_roll('obj_p95')),
          (SELECT (count(*) FILTER (WHERE status IN ('ok', 'warn') AND value <= 400), count(*),
                   count(*) FILTER (WHERE status IN ('ok', 'warn') AND value <= 400), count(*))::text
             FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'obj_api'),
          'p95 rollups (minutes and hours) equal the counts over raw results');
SELECT is((SELECT (mg, mt)::text FROM obj_roll('obj_p95')), '(3,5)', 'good = ok at or under 400 (100, 400, 100)');
SELECT is((SELECT (mg, mt, hg, ht)::text FROM obj_roll('obj_avail')),
          (SELECT (count(*) FILTER (WHERE status IN ('ok', 'warn')), count(*),
                   count(*) FILTER (WHERE status IN ('ok', 'warn')), count(*))::text
             FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'obj_api'),
          'availability rollups equal the counts over raw results');
SELECT is((SELECT (mg, mt)::text FROM obj_roll('obj_avail')), '(4,5)', 'one fail of five');

-- keep_ok_results = changes: an ok after an ok is not stored, but is counted
SET LOCAL slo_guard.keep_ok_results = 'changes';
SELECT obj_set(100) \g /dev/null
SELECT obj_set(100) \g /dev/null
SELECT obj_set(100) \g /dev/null
SELECT is((SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'obj_api'),
          5::bigint, 'the three ok results after an ok were not stored');
SELECT is((SELECT (mg, mt, hg, ht)::text FROM obj_roll('obj_avail')), '(7,8,7,8)',
          'but the rollups counted all eight results');
DELETE FROM slo_result;
SELECT is((SELECT (mg, mt)::text FROM obj_roll('obj_p95')), '(6,8)',
          'rollups do not depend on result history (result_retention)');
SELECT is((SELECT total FROM slo_objective_status() WHERE name = 'obj_p95'), 8::bigint,
          'slo_objective_status counts from the rollups');

-- ---- figures by hand from known timestamps ----
SELECT slo_add_check('obj_never', 'table_exists', '{"tables": ["obj_lat"]}', every => '1 day') \g /dev/null
SELECT slo_add_objective('obj_hand', 'obj_never', 0.99) \g /dev/null
-- disabled: passes never run it, so its objectives hold only the counts written here
SELECT slo_alter_check('obj_never', enabled => false) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '2 minutes', 8, 10) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '20 minutes', 40, 40) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '50 minutes', 47, 50) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '3 hours', 95, 100) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '2 days', 700, 700) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '10 days', 995, 1000) \g /dev/null
SELECT obj_put('obj_hand', now() - interval '40 days', 0, 500) \g /dev/null
-- windows: 5 min 2 bad of 10; 30 min 2/50; 1 h 5/100; 6 h 10/200; 3 d 10/900;
-- period (30 days) 15 bad of 1,900. Burn = (bad / total) / (1 - 0.99).
SELECT is((SELECT (good, total)::text FROM slo_objective_status() WHERE name = 'obj_hand'),
          '(1885,1900)', 'period counts: 30 days, the 40-day-old minute left out');
SELECT is((SELECT round(achieved::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          round(1885 / 1900.0, 9), 'achieved = 1885 / 1900');
SELECT is((SELECT round(budget_left::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          round(1 - (15 / 1900.0) / 0.01, 9), 'budget left = 1 - (15/1900) / 0.01 = 0.2105...');
SELECT is((SELECT round(burn_5m::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          20.000000000, 'burn 5 min = (2/10) / 0.01 = 20');
SELECT is((SELECT round(burn_30m::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          4.000000000, 'burn 30 min = (2/50) / 0.01 = 4');
SELECT is((SELECT round(burn_1h::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          5.000000000, 'burn 1 h = (5/100) / 0.01 = 5');
SELECT is((SELECT round(burn_6h::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          5.000000000, 'burn 6 h = (10/200) / 0.01 = 5');
SELECT is((SELECT round(burn_3d::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_hand'),
          round((10 / 900.0) / 0.01, 9), 'burn 3 d = (10/900) / 0.01 = 1.11...');
SELECT is((SELECT state FROM slo_objective_status() WHERE name = 'obj_hand'), 'ok',
          'state ok before its check ran');
SELECT obj_run() \g /dev/null
SELECT is((SELECT severity || ' ' || state FROM obj_alert('obj_hand')), 'P3 firing',
          '3 d and 6 h both at 1x or more: the P3 rule pages');
SELECT is((SELECT state FROM slo_objective_status() WHERE name = 'obj_hand'), 'firing', 'state firing');
SELECT is((SELECT count(*) FROM slo_objective_minute m JOIN slo_objective o ON o.id = m.objective_id
            WHERE o.name = 'obj_hand' AND m.minute < now() - interval '31 days'), 0::bigint,
          'the evaluation trimmed rollups older than the period');

-- ---- the budget gate ----
SELECT is(round(slo_require_budget('obj_hand')::numeric, 6), 0.210526, 'slo_require_budget returns the budget left');
SELECT is(round(slo_require_budget('obj_hand', 0.2)::numeric, 6), 0.210526, 'enough left for min_left 0.2');
SELECT throws_ok($$ SELECT slo_require_budget('obj_hand', 0.5) $$, '55000',
                 'error budget of objective "obj_hand" is below the minimum: 0.2105 left, 0.5 required',
                 'less than min_left left: 55000 naming the objective and the budget left');
SELECT throws_ok($$ SELECT slo_require_budget('obj_nope') $$, '42704', 'objective "obj_nope" does not exist',
                 'unknown objective: 42704');
SELECT throws_ok($$ SELECT slo_require_budget('obj_hand', 2) $$, '22023', 'invalid value for "min_left": 2',
                 'min_left over 1: 22023');
SELECT throws_ok($$ SELECT slo_require_budget('obj_p95') $$, '55000', NULL,
                 'an overspent objective stops a deploy at the default min_left 0');

-- ---- calendar month across the month boundary ----
SELECT slo_add_objective('obj_month', 'obj_never', 0.9, '1 month') \g /dev/null
SELECT slo_add_objective('obj_roll', 'obj_never', 0.9, '40 days') \g /dev/null
SELECT obj_put(n, date_trunc('month', now(), 'UTC') - interval '1 minute', 0, 100)
  FROM unnest(ARRAY['obj_month', 'obj_roll']) n \g /dev/null
SELECT obj_put(n, date_trunc('month', now(), 'UTC') - interval '2 hours', 0, 50)
  FROM unnest(ARRAY['obj_month', 'obj_roll']) n \g /dev/null
SELECT obj_put(n, date_trunc('month', now(), 'UTC'), 9, 10)
  FROM unnest(ARRAY['obj_month', 'obj_roll']) n \g /dev/null
SELECT is((SELECT (good, total)::text FROM slo_objective_status() WHERE name = 'obj_month'), '(9,10)',
          'calendar month: the minute before the first of the month (UTC) is not counted, the first minute is');
SELECT is((SELECT (good, total)::text FROM slo_objective_status() WHERE name = 'obj_roll'), '(9,160)',
          'a rolling 40 days over the same rollups counts across the boundary');
SELECT is((SELECT round(budget_left::numeric, 9) FROM slo_objective_status() WHERE name = 'obj_month'),
          0.000000000, 'month: 1 bad of 10 at target 0.9 spends the whole budget');
SELECT is((SELECT period FROM slo_objective_status() WHERE name = 'obj_month'), '1 mon'::interval, 'period shown');
-- '30 days' = '1 month' for interval comparison: a 30-day objective must still be rolling
SELECT slo_add_objective('obj_30d', 'obj_never', 0.9, '30 days') \g /dev/null
SELECT obj_put('obj_30d', now() - interval '29 days 23 hours', 1, 1) \g /dev/null
SELECT obj_put('obj_30d', now() - interval '30 days 2 hours', 0, 7) \g /dev/null
SELECT is((SELECT (good, total)::text FROM slo_objective_status() WHERE name = 'obj_30d'), '(1,1)',
          '30 days is rolling: 29 d 23 h ago counted, 30 d 2 h ago not (whatever the day of the month)');

-- ---- the burn-rate alert moves P1 -> P2 -> resolved on one alert ----
SELECT slo_add_objective('obj_burn', 'obj_never', 0.99) \g /dev/null
SELECT obj_put('obj_burn', now() - interval '1 minute', 50, 100) \g /dev/null
SELECT obj_run() \g /dev/null
SELECT is((SELECT severity || ' ' || state FROM obj_alert('obj_burn')), 'P1 firing',
          '50x over 1 h and 5 min: P1');
SELECT (SELECT id FROM obj_alert('obj_burn')) AS burn_alert \gset
SELECT is((SELECT status || ' ' || severity FROM slo_alert WHERE id = :burn_alert), 'fail P1', 'alert row P1');
SELECT is(obj_events('obj_burn'), '{firing:P1}', 'firing event with severity P1 in its payload');
SELECT obj_run() \g /dev/null
SELECT is(obj_events('obj_burn'), '{firing:P1}', 'still P1: no new event');
SELECT obj_clear('obj_burn') \g /dev/null
SELECT obj_put('obj_burn', now() - interval '1 minute', 100, 100) \g /dev/null
SELECT obj_put('obj_burn', now() - interval '20 minutes', 80, 100) \g /dev/null
-- 5 min 0/100 (P1 off); 30 min and 6 h 20/200 = 10x >= 6x: P2
SELECT obj_run() \g /dev/null
SELECT is((SELECT id FROM obj_alert('obj_burn')), :burn_alert::bigint, 'the same alert');
SELECT is((SELECT severity || ' ' || state FROM obj_alert('obj_burn')), 'P2 firing', 'moved to P2');
SELECT is(obj_events('obj_burn'), '{firing:P1,firing:P2}',
          'a new firing event on the same alert_id carries the new severity');
SELECT obj_clear('obj_burn') \g /dev/null
SELECT obj_put('obj_burn', now() - interval '1 minute', 100, 100) \g /dev/null
SELECT obj_run() \g /dev/null
SELECT is((SELECT state FROM obj_alert('obj_burn')), 'resolved', 'no rule met: resolved');
SELECT is(obj_events('obj_burn'), '{firing:P1,firing:P2,resolved:P2}',
          'resolved event carries the severity the alert had');
SELECT is((SELECT count(*) FROM slo_alert WHERE check_name = 'objective:obj_burn'), 1::bigint,
          'one alert in all, not one per severity');

-- ---- low traffic ----
SELECT slo_add_objective('obj_low', 'obj_never', 0.99) \g /dev/null
SELECT obj_put('obj_low', now() - interval '1 minute', 0, 3) \g /dev/null
SELECT obj_run() \g /dev/null
SELECT is((SELECT count(*) FROM obj_alert('obj_low')), 0::bigint,
          '3 bad of 3 (burn 100x) but fewer than min_events 10 in the hour: no page');
SELECT is((SELECT round(burn_1h::numeric, 6) FROM slo_objective_status() WHERE name = 'obj_low'), 100.000000,
          'the burn rate is still shown');
SELECT is(slo_alter_objective('obj_low', min_events => 3), (SELECT id FROM slo_objective WHERE name = 'obj_low'),
          'min_events lowered to 3');
SELECT obj_run() \g /dev/null
SELECT is((SELECT severity || ' ' || state FROM obj_alert('obj_low')), 'P1 firing', 'with min_events 3 it pages');

-- ---- validation, ownership, protection of the internal check ----
SELECT throws_ok($$ SELECT slo_add_objective('x', 'obj_api', 1) $$, '22023', 'invalid value for "target": 1',
                 'target 1 refused');
SELECT throws_ok($$ SELECT slo_add_objective('x', 'obj_api', 0.9, '2 months') $$, '22023',
                 'invalid value for "period": 2 mons', 'a period of months other than 1 refused');
SELECT throws_ok($$ SELECT slo_add_objective('x', 'obj_api', 0.9, '30 minutes') $$, '22023',
                 'invalid value for "period": 00:30:00', 'a period under an hour refused');
SELECT throws_ok($$ SELECT slo_add_objective('x', 'obj_nope', 0.9) $$, '42704', 'check "obj_nope" does not exist',
                 'unknown check refused');
SELECT throws_ok($$ SELECT slo_add_objective('obj_p95', 'obj_api', 0.9) $$, '23505',
                 'objective "obj_p95" already exists', 'duplicate name refused');
SELECT throws_ok($$ SELECT slo_add_objective('x', 'objective:obj_p95', 0.9) $$, '22023', NULL,
                 'an objective cannot measure an objective''s check');
SELECT throws_ok($$ SELECT slo_alter_check('objective:obj_p95', severity => 'P1') $$, '42501',
                 'check "objective:obj_p95" belongs to an objective', 'the internal check is not alterable');
SELECT throws_ok($$ SELECT slo_drop_check('objective:obj_p95') $$, '42501', NULL,
                 'nor droppable with slo_drop_check');
SELECT throws_ok($$ SELECT slo_add_check('x', 'objective', '{"objective_id": 1}') $$, '22023',
                 'check kind "objective" is internal', 'kind objective is internal');
SELECT throws_ok($$ SELECT slo_drop_check('obj_api') $$, '2BP01',
                 'check "obj_api" is measured by objective obj_avail, obj_p95', 'a measured check cannot be dropped');

CREATE ROLE obj_other;
GRANT EXECUTE ON FUNCTION slo_alter_objective(text, float8, interval, float8, integer, boolean),
                          slo_drop_objective(text, boolean) TO obj_other;
SET LOCAL ROLE obj_other;
SELECT throws_ok($$ SELECT slo_alter_objective('obj_p95', target => 0.5) $$, '42501', NULL,
                 'another role may not alter the objective');
SELECT throws_ok($$ SELECT slo_drop_objective('obj_p95') $$, '42501', NULL,
                 'nor drop it');
RESET ROLE;

-- ---- drop ----
SELECT ok(slo_drop_objective('obj_low'), 'slo_drop_objective');
SELECT is((SELECT count(*) FROM slo_check WHERE name = 'objective:obj_low'), 0::bigint, 'its check is gone');
SELECT is((SELECT count(*) FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
            WHERE a.check_name = 'objective:obj_low'), 0::bigint, 'with its alert (resolved and notified first)');
SELECT is(slo_drop_objective('obj_low', if_exists => true), false, 'if_exists');

SELECT * FROM finish();
ROLLBACK;
