-- Ownership of checks (issue 10): only the owner, a member of the owning role (with
-- its privileges) or a superuser may alter or drop a check; others get 42501 naming
-- the check and its owner, and nothing changes. Owners are kept by name: a check
-- whose owner role was dropped, or whose OID now names another role, records an
-- error result saying so and never runs as another role. Disabling a firing check
-- resolves its alert with a `resolved` event that says who disabled it.
BEGIN;
SELECT plan(39);

CREATE ROLE trust_alice;
CREATE ROLE trust_bob;                                -- no relation to alice
CREATE ROLE trust_carol IN ROLE trust_alice;          -- member, inherits alice's privileges
CREATE ROLE trust_nina NOINHERIT IN ROLE trust_alice; -- member without alice's privileges
CREATE ROLE trust_dave;
GRANT USAGE ON SCHEMA public TO trust_alice, trust_bob, trust_carol, trust_nina, trust_dave;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
                          slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
                          slo_drop_check(text, boolean)
   TO trust_alice, trust_bob, trust_carol, trust_nina, trust_dave;

-- Run one statement as a role and return its first column as text (an error
-- inside throws_ok rolls the SET ROLE back with its subtransaction).
CREATE FUNCTION trust_as(r text, q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE res text;
BEGIN
  EXECUTE format('SET ROLE %I', r);
  EXECUTE q INTO res;
  RESET ROLE;
  RETURN res;
END $$;
CREATE FUNCTION trust_check(n text, OUT severity text, OUT enabled boolean, OUT owner text,
                            OUT owner_name text) LANGUAGE sql AS
  $$ SELECT severity, enabled, owner::text, owner_name FROM slo_check WHERE name = n $$;

-- ---- the owner, recorded by OID (regrole) and by name
SELECT ok(trust_as('trust_alice', $$SELECT slo_add_check('t_alice', 'table_exists', '{"tables": ["trust_missing"]}')$$)::bigint > 0,
          'alice adds a check');
SELECT is((SELECT (owner, owner_name) FROM trust_check('t_alice')), ('trust_alice'::text, 'trust_alice'::text),
          'owner (a regrole, shown by name) and owner_name are alice');
SELECT is((SELECT pg_typeof(owner)::text FROM slo_check WHERE name = 't_alice'), 'regrole',
          'slo_check.owner is a regrole');

-- ---- another role: 42501 naming the check and its owner, and nothing changes
SELECT throws_ok($$SELECT trust_as('trust_bob', 'SELECT slo_alter_check(''t_alice'', enabled => false, severity => ''P3'')')$$,
                 '42501', 'must be owner of check "t_alice" (owned by role "trust_alice")',
                 'bob cannot alter alice''s check');
SELECT throws_ok($$SELECT trust_as('trust_bob', 'SELECT slo_drop_check(''t_alice'')')$$,
                 '42501', 'must be owner of check "t_alice" (owned by role "trust_alice")',
                 'bob cannot drop alice''s check');
SELECT throws_ok($$SELECT trust_as('trust_bob', 'SELECT slo_drop_check(''t_alice'', if_exists => true)')$$,
                 '42501', NULL, 'if_exists does not help bob either');
SELECT throws_ok($$SELECT trust_as('trust_bob', 'SELECT slo_alter_check(''t_alice'', params => ''{"tables": ["x"]}'')')$$,
                 '42501', NULL, 'bob cannot take the check over by redefining it');
SELECT is((SELECT (severity, enabled, owner) FROM trust_check('t_alice')), ('P2'::text, true, 'trust_alice'::text),
          'after bob''s attempts the check is unchanged and still alice''s');
SELECT throws_ok($$SELECT trust_as('trust_nina', 'SELECT slo_alter_check(''t_alice'', severity => ''P3'')')$$,
                 '42501', NULL, 'a NOINHERIT member (without alice''s privileges) cannot alter it');

-- ---- a member of the owning role, the owner, a superuser
SELECT is(trust_as('trust_carol', $$SELECT slo_alter_check('t_alice', severity => 'P1')$$)::bigint,
          (SELECT id FROM slo_check WHERE name = 't_alice'), 'carol (member of alice) alters it');
SELECT is((SELECT (severity, owner) FROM trust_check('t_alice')), ('P1'::text, 'trust_alice'::text),
          'severity changed; a non-definition change keeps the owner');
SELECT lives_ok($$SELECT trust_as('trust_alice', 'SELECT slo_alter_check(''t_alice'', fail_after => 2)')$$,
                'the owner alters it');
SELECT lives_ok($$SELECT slo_alter_check('t_alice', labels => '{"team": "db"}')$$,
                'a superuser alters it');
SELECT lives_ok($$SELECT trust_as('trust_carol', 'SELECT slo_alter_check(''t_alice'', params => ''{"tables": ["trust_missing", "pg_class"]}'')')$$,
                'carol redefines it (params)');
SELECT is((SELECT (owner, owner_name) FROM trust_check('t_alice')), ('trust_carol'::text, 'trust_carol'::text),
          'redefining makes carol the owner, by OID and by name');
SELECT throws_ok($$SELECT trust_as('trust_alice', 'SELECT slo_drop_check(''t_alice'')')$$,
                 '42501', 'must be owner of check "t_alice" (owned by role "trust_carol")',
                 'now alice (not a member of carol) cannot drop it');
SELECT is(trust_as('trust_carol', $$SELECT slo_drop_check('t_alice')$$), 'true', 'the new owner drops it');
SELECT is((SELECT count(*) FROM slo_check WHERE name = 't_alice'), 0::bigint, 'gone');

SELECT lives_ok($$SELECT trust_as('trust_alice', 'SELECT slo_add_check(''t_alice2'', ''table_exists'', ''{"tables": ["pg_class"]}'')')$$,
                'alice adds another check');
SELECT is(trust_as('trust_carol', $$SELECT slo_drop_check('t_alice2')$$), 'true', 'a member of the owning role drops it');
SELECT lives_ok($$SELECT trust_as('trust_alice', 'SELECT slo_add_check(''t_alice3'', ''table_exists'', ''{"tables": ["pg_class"]}'')')$$,
                'alice adds a third check');
SELECT is(slo_drop_check('t_alice3'), true, 'a superuser drops it');

-- ---- disabling a firing check resolves its alert, saying who disabled it
SELECT lives_ok($$SELECT trust_as('trust_alice', 'SELECT slo_add_check(''t_fire'', ''table_exists'', ''{"tables": ["trust_missing"]}'')')$$,
                'alice adds a check that fails');
SELECT is((SELECT status FROM slo_run_checks(false) WHERE check_name = 't_fire'), 'fail', 'it fails');
SELECT is((SELECT state FROM slo_status() WHERE name = 't_fire'), 'firing', 'and fires');
SELECT lives_ok($$SELECT trust_as('trust_carol', 'SELECT slo_alter_check(''t_fire'', enabled => false)')$$,
                'carol disables it');
SELECT is((SELECT (state, summary) FROM slo_alert WHERE check_name = 't_fire'),
          ('resolved'::text, 'check disabled by trust_carol'::text), 'the alert is resolved, saying why');
SELECT is((SELECT array_agg(e.event || ': ' || e.summary ORDER BY e.id) FROM slo_alert_event e
             JOIN slo_alert a ON a.id = e.alert_id WHERE a.check_name = 't_fire')::text,
          '{"firing: Table trust_missing is missing.","resolved: check disabled by trust_carol"}',
          'a resolved event follows the firing one');
SELECT is((SELECT payload->>'event' || '/' || (payload->>'summary') FROM slo_alert_event
            WHERE event = 'resolved' AND summary = 'check disabled by trust_carol'),
          'resolved/check disabled by trust_carol', 'its payload (the NOTIFY sent) says so');
SELECT is((SELECT (state, alert_id) FROM slo_status() WHERE name = 't_fire'), ('disabled'::text, NULL::bigint),
          'the check is disabled with no open alert');
SELECT lives_ok($$SELECT trust_as('trust_alice', 'SELECT slo_alter_check(''t_fire'', enabled => true)')$$,
                're-enabled by its owner');
SELECT is((SELECT (state, alert_id) FROM slo_status() WHERE name = 't_fire'), ('pending'::text, NULL::bigint),
          're-enabled: pending (still failing, no alert open)');
SELECT is((SELECT status FROM slo_run_checks(false) WHERE check_name = 't_fire'), 'fail', 'it fails again');
SELECT is((SELECT count(*) FROM slo_alert WHERE check_name = 't_fire' AND state = 'firing'), 1::bigint,
          'its next failure opens a new alert (the old one stays resolved)');

-- ---- a dropped owner: an error result naming the role, never run as another role
SELECT lives_ok($$SELECT trust_as('trust_dave', 'SELECT slo_add_check(''t_dave'', ''table_exists'', ''{"tables": ["pg_class"]}'')')$$,
                'dave adds a check');
REVOKE ALL ON SCHEMA public FROM trust_dave;
REVOKE ALL ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
                       slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
                       slo_drop_check(text, boolean) FROM trust_dave;
DROP ROLE trust_dave;
SELECT is((SELECT status || ': ' || summary FROM slo_run_checks(false) WHERE check_name = 't_dave'),
          'error: Check could not run: the role that added this check ("trust_dave") was dropped (SQLSTATE 42704). Drop the check, or have another role take it over with slo_alter_check(name, params => ...).',
          'the check of a dropped role records an error naming it');

-- OID reused by another role (simulated: the recorded name no longer matches the OID's role)
UPDATE slo_check SET owner_name = 'trust_gone' WHERE name = 't_fire';
SELECT is((SELECT status || ': ' || summary FROM slo_run_checks(false) WHERE check_name = 't_fire'),
          'error: Check could not run: the role that added this check ("trust_gone") was dropped (SQLSTATE 42704). Drop the check, or have another role take it over with slo_alter_check(name, params => ...).',
          'an owner OID that now names another role: error, not run as that role');
SELECT throws_ok($$SELECT trust_as('trust_alice', 'SELECT slo_drop_check(''t_fire'')')$$,
                 '42501', 'must be owner of check "t_fire" (owned by role "trust_gone")',
                 'the role now holding the OID cannot drop it either');
SELECT is(slo_drop_check('t_dave'), true, 'a superuser drops the orphaned check');

SELECT * FROM finish();
ROLLBACK;
