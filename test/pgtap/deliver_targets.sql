-- Issue 11, delivery without the worker: target param validation (22023, key named,
-- secret values never shown), url refused outside slo_guard.allowed_hosts (empty here:
-- none), the ownership rule, row level security on slo_target_secret, the outbox rows a
-- notified event writes (min_severity, digest holds), bodies per kind, metrics.
BEGIN;
SELECT plan(25);

SELECT throws_ok($$ SELECT slo_add_target('t', 'carrier_pigeon', 'http://127.0.0.1/') $$,
  '22023', 'unknown target kind "carrier_pigeon"', 'an unknown kind is refused');
SELECT throws_ok($$ SELECT slo_add_target('t', 'webhook', 'http://127.0.0.1/', params => '{"colour": "red"}') $$,
  '22023', 'unknown param "colour" for target kind "webhook"', 'an unknown param is named');
SELECT throws_ok($$ SELECT slo_add_target('t', 'pagerduty', 'http://127.0.0.1/') $$,
  '22023', 'target kind "pagerduty" needs param "routing_key"', 'a missing required param is named');
SELECT throws_ok($$ SELECT slo_add_target('t', 'pagerduty', 'http://127.0.0.1/', params => '{"routing_key": ["s3cr3t"]}') $$,
  '22023', 'invalid value for target param "routing_key": (secret, not shown)', 'a bad secret is named, never shown');
SELECT throws_ok($$ SELECT slo_add_target('t', 'webhook', 'http://127.0.0.1/', params => '{"headers": {"X-Token": "a\r\nb"}}') $$,
  '22023', 'invalid value for header "X-Token" in target param "headers": (secret, not shown)', 'a header value with a line break is refused');
SELECT throws_ok($$ SELECT slo_add_target('t', 'email', 'smtp://127.0.0.1/', params => '{"from": "a@b.c", "to": []}') $$,
  '22023', 'invalid value for target param "to": []', 'email needs recipients');
SELECT throws_ok($$ SELECT slo_add_target('t', 'webhook', 'http://127.0.0.1/', 'P9') $$,
  '22023', 'invalid min_severity "P9"', 'a bad min_severity is refused');
SELECT throws_ok($$ SELECT slo_add_target('t', 'webhook', 'http://127.0.0.1/hook?token=s3cr3t') $$,
  '22023', 'url refused for target kind "webhook": host "127.0.0.1" is not allowed by slo_guard.allowed_hosts',
  'with allowed_hosts empty every host is refused, naming the host only');

-- Targets as slo_add_target writes them (allowed_hosts is a server setting this file cannot change).
CREATE ROLE tap_owner;
CREATE ROLE tap_member IN ROLE tap_owner;
CREATE ROLE tap_oncall;
GRANT SELECT ON slo_target, slo_target_secret, slo_delivery TO tap_owner, tap_oncall;
GRANT EXECUTE ON FUNCTION slo_test_target(text), slo_drop_target(text, boolean) TO tap_oncall, tap_owner;
INSERT INTO slo_target (id, name, kind, url, min_severity, params, owner, owner_name) VALUES
  (901, 'wh', 'webhook', 'http://127.0.0.1:1', 'P3', '{}', 'tap_owner', 'tap_owner'),
  (902, 'pd', 'pagerduty', 'http://127.0.0.1:1', 'P1', '{}', 'tap_owner', 'tap_owner'),
  (903, 'p0', 'webhook', 'http://127.0.0.1:1', 'P0', '{}', 'tap_owner', 'tap_owner'),
  (904, 'dig', 'webhook', 'http://127.0.0.1:1', 'P3', '{"digest": "daily"}', 'tap_owner', 'tap_owner') \g /dev/null
INSERT INTO slo_target_secret (target_id, owner, url, secrets) VALUES
  (901, 'tap_owner', 'http://127.0.0.1:1/hook', '{"headers": {"Authorization": "Bearer s3cr3t"}}'),
  (902, 'tap_owner', 'http://127.0.0.1:1/pd', '{"routing_key": "rk-s3cr3t"}'),
  (903, 'tap_owner', 'http://127.0.0.1:1/p0', '{}'),
  (904, 'tap_owner', 'http://127.0.0.1:1/dig', '{}') \g /dev/null

SET ROLE tap_oncall;
SELECT is((SELECT count(*) FROM slo_target_secret), 0::bigint, 'an on-call role granted SELECT sees no secrets row');
SELECT is((SELECT count(*) FROM slo_target), 4::bigint, 'but sees the targets');
SELECT throws_ok($$ SELECT slo_drop_target('wh') $$, '42501', NULL, 'and may not drop one');
SELECT throws_ok($$ SELECT slo_test_target('wh') $$, '42501', NULL, 'nor test one');
RESET ROLE;
SET ROLE tap_member;
SELECT is((SELECT count(*) FROM slo_target_secret), 4::bigint, 'a member of the owner reads the secrets');
RESET ROLE;
SET ROLE tap_owner;
SELECT ok(slo_test_target('wh') > 0, 'the owner tests its target');
RESET ROLE;
SELECT is((SELECT kind || ' ' || state || ' ' || (payload ->> 'event') FROM slo_delivery WHERE target_id = 901),
          'test queued test', 'a test delivery is queued');
DELETE FROM slo_delivery \g /dev/null

-- A P1 alert fires: one delivery per target at or above P1; the digest target holds it.
SELECT slo_add_check('tap_missing', 'table_exists', '{"tables": ["tap_nope"]}', severity => 'P1') \g /dev/null
SELECT count(*) FROM slo_run_checks(false) \g /dev/null
SELECT set_eq($$ SELECT target_id, state, event, kind FROM slo_delivery $$,
              $$ VALUES (901::bigint, 'queued', 'firing', 'event'), (902, 'queued', 'firing', 'event'),
                        (904, 'held', 'firing', 'event') $$,
              'the firing event is queued for each target at or above its severity (the digest target holds it)');
SELECT is((SELECT count(*) FROM slo_delivery d JOIN slo_alert_event e ON e.id = d.event_id
            WHERE e.event = 'firing' AND d.payload = e.payload), 3::bigint,
          'each delivery names its event and carries its payload');

-- Bodies: PagerDuty
SELECT is((SELECT (slo_delivery_body(id, kind, payload, 'pagerduty', 'pd', '{}', 'rk', now())::jsonb) #>> '{payload,severity}'
             FROM slo_delivery WHERE target_id = 902), 'error', 'pagerduty: P1 is error');
SELECT is((slo_delivery_body(1, 'event', '{"event": "firing", "severity": "P0", "alert_id": 7, "database": "db"}',
                             'pagerduty', 'pd', '{}', 'rk', now())::jsonb) #>> '{payload,severity}',
          'critical', 'pagerduty: P0 is critical');
SELECT is((slo_delivery_body(1, 'event', '{"event": "resolved", "severity": "P2", "alert_id": 7, "database": "db"}',
                             'pagerduty', 'pd', '{}', 'rk', now())::jsonb),
          '{"routing_key": "rk", "event_action": "resolve", "dedup_key": "slo_guard-db-7"}'::jsonb,
          'pagerduty: resolved is resolve on the alert''s dedup_key');
SELECT is((slo_delivery_body(1, 'event', '{"event": "acknowledged", "severity": "P2", "alert_id": 7, "database": "db"}',
                             'pagerduty', 'pd', '{}', 'rk', now())::jsonb) ->> 'event_action',
          'acknowledge', 'pagerduty: acknowledged is acknowledge');

-- metrics
SELECT matches(slo_metrics(), 'slo_guard_deliveries\{state="queued"\} 2\n', 'slo_metrics counts deliveries by state');
SELECT matches(slo_metrics(), 'slo_guard_delivery_oldest_undelivered_seconds [0-9.]+\n', 'and the age of the oldest undelivered');

-- a dropped target takes its secrets and deliveries along
SELECT ok(slo_drop_target('wh'), 'slo_drop_target');
SELECT is((SELECT count(*) FROM slo_delivery WHERE target_id = 901) + (SELECT count(*) FROM slo_target_secret WHERE target_id = 901),
          0::bigint, 'its deliveries and secrets are gone');

SELECT * FROM finish();
ROLLBACK;
