-- slo_check_owner_guard (issue 16): a row written straight into slo_check cannot name
-- an owner its writer is not a member of; the API, a superuser, a member of the owner
-- may; updates that run nothing new do not fire it; and a direct row never ran.
BEGIN;
SELECT plan(15);

CREATE ROLE tap_writer;                 -- was granted write access, as default ACLs did
CREATE ROLE tap_owner;                  -- a check admin
CREATE ROLE tap_member;
GRANT tap_owner TO tap_member;
GRANT SELECT, INSERT, UPDATE, DELETE ON slo_check TO tap_writer, tap_member;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
      slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean)
   TO tap_owner, tap_writer;

SET ROLE tap_owner;
SELECT ok(slo_add_check('owned', 'sql', '{"query": "SELECT 1"}') > 0,
          'the API adds a check for a non-superuser (it writes as the extension owner)');
SELECT ok(slo_alter_check('owned', params => '{"query": "SELECT 2"}') > 0,
          'and changes its definition');
RESET ROLE;

SET ROLE tap_writer;
SELECT throws_ok(
  $$ INSERT INTO slo_check (name, kind, params, owner, search_path)
     VALUES ('pwn', 'sql', '{"query": "SELECT 1"}', 'postgres'::regrole, 'public') $$,
  '42501', 'permission denied to make role "postgres" the owner of check "pwn"',
  'a row naming the superuser is refused with 42501, naming the owner');
SELECT throws_ok(
  $$ INSERT INTO slo_check (name, kind, params, owner, search_path)
     VALUES ('pwn', 'sql', '{"query": "SELECT 1"}', 'tap_owner'::regrole, 'public') $$,
  '42501', 'permission denied to make role "tap_owner" the owner of check "pwn"',
  'a row naming another non-superuser is refused');
SELECT throws_ok(
  $$ INSERT INTO slo_check (name, kind, params, owner, search_path)
     VALUES ('pwn', 'sql', '{"query": "SELECT 1"}', 4000000000, 'public') $$,
  '42704', 'role with OID 4000000000 does not exist',
  'a row naming no role is refused with 42704');
SELECT throws_ok(
  $$ UPDATE slo_check SET params = '{"query": "SELECT 3"}' WHERE name = 'owned' $$,
  '42501', NULL, 'changing params of another role''s check is refused');
SELECT throws_ok(
  $$ UPDATE slo_check SET kind = 'table_exists' WHERE name = 'owned' $$,
  '42501', NULL, 'changing kind is refused');
SELECT throws_ok(
  $$ UPDATE slo_check SET search_path = 'evil' WHERE name = 'owned' $$,
  '42501', NULL, 'changing search_path is refused');
SELECT lives_ok(
  $$ UPDATE slo_check SET severity = 'P1', every = '5 minutes', enabled = false,
                          labels = '{"k": "v"}' WHERE name = 'owned' $$,
  'severity, schedule, labels and enabled run nothing new: allowed');
SELECT lives_ok(
  $$ UPDATE slo_check SET params = params, owner = owner WHERE name = 'owned' $$,
  'an update that changes nothing is allowed');
SELECT lives_ok(
  $$ INSERT INTO slo_check (name, kind, params, owner, search_path)
     VALUES ('mine', 'sql', '{"query": "SELECT 1"}', 'tap_writer'::regrole, 'public') $$,
  'a row naming the writer itself is allowed (it runs as the writer)');
RESET ROLE;

SET ROLE tap_member;
SELECT lives_ok(
  $$ UPDATE slo_check SET params = '{"query": "SELECT 4"}' WHERE name = 'owned' $$,
  'a member of the owner may change the definition (it could add the check as the owner)');
RESET ROLE;

SELECT lives_ok(
  $$ INSERT INTO slo_check (name, kind, params, owner, search_path)
     VALUES ('by_super', 'sql', '{"query": "SELECT 1"}', 'tap_owner'::regrole, 'public') $$,
  'a superuser may name another role');
SELECT is((SELECT string_agg(name || ':' || owner::regrole::text, ' ' ORDER BY name)
             FROM slo_check),
          'by_super:tap_owner mine:tap_writer owned:tap_owner',
          'only the allowed rows are there, with their owners');
SELECT is((SELECT params ->> 'query' FROM slo_check WHERE name = 'owned'), 'SELECT 4',
          'the refused updates left the definition alone');

SELECT * FROM finish();
ROLLBACK;
