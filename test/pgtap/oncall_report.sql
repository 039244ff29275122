-- slo_incident_report, checked line by line against a known timeline written with
-- fixed timestamps: header (check, severity, labels, runbook link, detected, resolved,
-- duration), then the UTC table: first failed result, firing, deliveries (delivered,
-- dead with its last error), escalated, acknowledged (by, note), the silence that
-- covered it (start, end), resolved; Markdown-escaped (| and line breaks); silences
-- that did not cover it are left out; an unknown id is a clear error. The session's
-- time zone is not UTC, so the report's UTC conversion is tested too.
BEGIN;
SELECT * FROM no_plan();
SET LOCAL timezone = 'America/New_York';

SELECT slo_add_check('rep_check', 'table_exists', '{"tables": ["rep_missing"]}', 'P0', fail_after => 2,
                     labels => '{"category": "compliance", "runbook": "https://wiki.example/runbooks/db#tables"}') AS cid \gset
INSERT INTO slo_result (check_id, check_name, at, status, value, summary) VALUES
  (:cid, 'rep_check', '2026-03-01 10:00:00+00', 'ok', 0, 'All 2 tables exist.'),
  (:cid, 'rep_check', '2026-03-01 10:01:00+00', 'fail', 1, '1 of 2 tables missing: consent_records.'),
  (:cid, 'rep_check', '2026-03-01 10:02:00+00', 'fail', 1, '1 of 2 tables missing: consent_records.'),
  (:cid, 'rep_check', '2026-03-01 11:03:05+00', 'ok', 0, 'All 2 tables exist.');
INSERT INTO slo_alert (check_id, check_name, severity, state, detected_at, fired_at, acknowledged_at,
                       acknowledged_by, ack_note, escalated_at, resolved_at, status, value, summary)
VALUES (:cid, 'rep_check', 'P0', 'resolved', '2026-03-01 10:01:00+00', '2026-03-01 10:02:00+00',
        '2026-03-01 10:09:30+00', 'alice', E'looking | into it\nnow', '2026-03-01 10:07:00+00',
        '2026-03-01 11:03:05+00', 'ok', 0, 'All 2 tables exist.')
RETURNING id AS aid \gset
INSERT INTO slo_alert_event (alert_id, event, at, status, value, summary, notified, payload) VALUES
  (:aid, 'firing', '2026-03-01 10:02:00+00', 'fail', 1, '1 of 2 tables missing: consent_records.', true,
   '{"event": "firing", "severity": "P0"}'),
  (:aid, 'escalated', '2026-03-01 10:07:00+00', 'fail', 1, 'Not acknowledged within 5 min (the P0 response time).', true,
   '{"event": "escalated", "severity": "P0"}'),
  (:aid, 'acknowledged', '2026-03-01 10:09:30+00', 'fail', 1, E'Acknowledged by alice: looking | into it\nnow', true,
   '{"event": "acknowledged", "severity": "P0"}'),
  (:aid, 'resolved', '2026-03-01 11:03:05+00', 'ok', 0, 'All 2 tables exist.', false,
   '{"event": "resolved", "severity": "P0"}');
SELECT (SELECT id FROM slo_alert_event WHERE alert_id = :aid AND event = 'firing') AS ev_firing,
       (SELECT id FROM slo_alert_event WHERE alert_id = :aid AND event = 'escalated') AS ev_esc \gset
INSERT INTO slo_silence (pattern, starts_at, ends_at, reason, created_by, ended_at, ended_by) VALUES
  ('rep%', '2026-03-01 10:30:00+00', '2026-03-01 12:30:00+00', 'migration *v2*', 'bob', '2026-03-01 11:10:00+00', 'carol')
RETURNING id AS sid \gset
INSERT INTO slo_silence (pattern, starts_at, ends_at, reason, created_by) VALUES
  ('other%', '2026-03-01 10:30:00+00', '2026-03-01 12:30:00+00', 'not this check', 'bob'),
  ('rep%', '2026-03-01 11:30:00+00', '2026-03-01 12:30:00+00', 'after it resolved', 'bob'),
  ('%', '2026-03-01 08:00:00+00', '2026-03-01 09:00:00+00', 'before it', 'bob');

-- Deliveries: rows of the outbox of issue 11 (slo_target, slo_delivery) with known times.
CREATE TEMP TABLE rep_flags (has_deliveries boolean);
DO $$
DECLARE
    aid bigint := (SELECT id FROM slo_alert WHERE check_name = 'rep_check');
BEGIN
    INSERT INTO slo_target (id, name, kind, url, min_severity, params, owner, owner_name) VALUES
      (900001, 'ops-slack', 'webhook', 'https://hooks.example/ops', 'P3', '{}', current_user::regrole, current_user),
      (900002, 'pager', 'webhook', 'https://pager.example/x', 'P1', '{}', current_user::regrole, current_user);
    INSERT INTO slo_delivery (id, target_id, event_id, alert_id, state, attempts, next_attempt_at, last_error,
                              last_status, created_at, delivered_at, payload) VALUES
      (900001, 900001, (SELECT id FROM slo_alert_event WHERE alert_id = aid AND event = 'firing'), aid,
       'delivered', 2, '2026-03-01 10:02:07+00', NULL, 200, '2026-03-01 10:02:00+00', '2026-03-01 10:02:07+00', '{}'),
      (900002, 900002, (SELECT id FROM slo_alert_event WHERE alert_id = aid AND event = 'escalated'), aid,
       'dead', 5, '2026-03-01 10:07:00+00', 'HTTP 500 | upstream', 500, '2026-03-01 10:07:00+00', NULL, '{}');
    INSERT INTO rep_flags VALUES (true);
EXCEPTION WHEN OTHERS THEN
    RAISE NOTICE 'delivery rows not written (%), delivery lines skipped', SQLERRM;
    INSERT INTO rep_flags VALUES (false);
END
$$;
SELECT has_deliveries FROM rep_flags \gset

CREATE TEMP TABLE rep_got AS
SELECT n, line FROM unnest(string_to_array(slo_incident_report(:aid), E'\n')) WITH ORDINALITY AS l(line, n);
CREATE TEMP TABLE rep_want (line text, delivery boolean);
INSERT INTO rep_want VALUES
  ('## Incident: rep_check (P0)', false),
  ('', false),
  ('- **Alert:** ' || :aid || ' (resolved)', false),
  ('- **Check:** rep_check, kind table_exists', false),
  ('- **Severity:** P0', false),
  ('- **Labels:** category: compliance, runbook: https://wiki.example/runbooks/db#tables', false),
  ('- **Runbook:** <https://wiki.example/runbooks/db#tables>', false),
  ('- **Detected:** 2026-03-01 10:01:00 UTC', false),
  ('- **Resolved:** 2026-03-01 11:03:05 UTC', false),
  ('- **Duration:** 1 h 2 min 5 s', false),
  ('', false),
  ('### Timeline (UTC)', false),
  ('', false),
  ('| Time (UTC) | Event | Details |', false),
  ('| --- | --- | --- |', false),
  ('| 2026-03-01 10:01:00 | First failed result | fail, value 1: 1 of 2 tables missing: consent_records. |', false),
  ('| 2026-03-01 10:02:00 | Firing | P0, fail, value 1: 1 of 2 tables missing: consent_records. |', false),
  ('| 2026-03-01 10:02:07 | Delivered | firing to ops-slack, 2 attempts |', true),
  ('| 2026-03-01 10:07:00 | Escalated | Not acknowledged within 5 min (the P0 response time). |', false),
  ('| 2026-03-01 10:07:00 | Delivery failed | escalated to pager, 5 attempts: HTTP 500 \| upstream |', true),
  ('| 2026-03-01 10:09:30 | Acknowledged | by alice: looking \| into it<br>now |', false),
  ('| 2026-03-01 10:30:00 | Silence ' || :sid || ' started | pattern rep% by bob until 2026-03-01 12:30:00: migration \*v2\* |', false),
  ('| 2026-03-01 11:03:05 | Resolved | ok, value 0: All 2 tables exist. (silenced: not notified) |', false),
  ('| 2026-03-01 11:10:00 | Silence ' || :sid || ' ended | ended by carol |', false),
  ('', false);
ALTER TABLE rep_want ADD COLUMN n serial;
CREATE TEMP TABLE rep_exp AS
SELECT row_number() OVER (ORDER BY n) AS n, line FROM rep_want WHERE NOT delivery OR :'has_deliveries'::boolean;
INSERT INTO rep_exp SELECT (SELECT max(n) FROM rep_exp) + 1, '_No deliveries recorded for this alert._'
 WHERE NOT :'has_deliveries'::boolean;
INSERT INTO rep_exp SELECT (SELECT max(n) FROM rep_exp) + 1, '' WHERE NOT :'has_deliveries'::boolean;

SELECT is((SELECT count(*) FROM rep_got), (SELECT count(*) FROM rep_exp), 'the report has the expected number of lines');
SELECT is(g.line, e.line, 'line ' || e.n)
  FROM rep_exp e LEFT JOIN rep_got g ON g.n = e.n ORDER BY e.n;
SELECT ok(:'has_deliveries'::boolean, 'delivery rows of the agreed shape were written (else their lines were skipped)');

-- still firing: the duration says so; no deliveries: the report says so
-- (the targets written above would get this alert's firing: off now)
UPDATE slo_target SET enabled = false WHERE id IN (900001, 900002) \g /dev/null
SELECT slo_add_check('rep_open', 'table_exists', '{"tables": ["rep_missing"]}', 'P2') \g /dev/null
SELECT count(*) FROM slo_run_checks(false) \g /dev/null
SELECT id AS oid2 FROM slo_alert WHERE check_name = 'rep_open' \gset
SELECT alike(slo_incident_report(:oid2), '%- **Duration:** _ s so far (still firing)%', 'an open alert: duration so far');
SELECT alike(slo_incident_report(:oid2), '%_No deliveries recorded for this alert._%', 'no deliveries: said so');
SELECT alike(slo_incident_report(:oid2), '%| Firing | P2, fail, value 1: Table rep\_missing is missing. |%', 'firing line from a real run');
SELECT alike(slo_incident_report(:oid2), '%- **Runbook:** none%', 'no runbook label: none');

SELECT throws_ok('SELECT slo_incident_report(987654321)', '42704', 'alert 987654321 does not exist', 'unknown id: 42704');
SELECT throws_ok('SELECT slo_incident_report(NULL)', '22004', NULL, 'NULL id');

SELECT * FROM finish();
ROLLBACK;
