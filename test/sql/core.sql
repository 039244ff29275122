-- slo_guard core SQL surface: objects, add/alter/drop, run, status, alerts, privileges.
CREATE EXTENSION slo_guard;

-- Every object is in the extension's schema, starts with slo_, and has a comment.
SELECT count(*) AS objects_without_comment
  FROM pg_depend d
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'slo_guard'
 WHERE d.deptype = 'e'
   AND d.classid IN ('pg_class'::regclass, 'pg_proc'::regclass)
   AND obj_description(d.objid, d.classid::regclass::name) IS NULL
   AND NOT EXISTS (SELECT 1 FROM pg_class c WHERE d.classid = 'pg_class'::regclass
                   AND c.oid = d.objid AND c.relkind IN ('i', 'S'));
SELECT f AS missing_function FROM unnest(ARRAY['slo_add_check', 'slo_alter_check',
  'slo_drop_check', 'slo_run_checks', 'slo_status', 'slo_kinds']) f
 WHERE NOT EXISTS (SELECT 1 FROM pg_proc p WHERE p.proname = f
                   AND p.pronamespace = 'public'::regnamespace);
-- Nothing is granted to PUBLIC.
SELECT p.proname AS executable_by_public
  FROM pg_proc p WHERE p.pronamespace = 'public'::regnamespace AND p.proname LIKE 'slo\_%'
   AND has_function_privilege('public', p.oid, 'EXECUTE');
SELECT c.relname AS readable_by_public
  FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace AND c.relname LIKE 'slo\_%'
   AND has_table_privilege('public', c.oid, 'SELECT');

-- The sample app.
CREATE TABLE users (id int);
CREATE TABLE children (id int);
CREATE TABLE notification_preferences (id int, notification_consent_granted bool,
                                       marketing_consent_granted bool);
CREATE FUNCTION app_health() RETURNS int LANGUAGE sql AS 'SELECT 1';

-- Adding checks returns ids; defaults apply.
SELECT slo_add_check('critical_tables', 'table_exists',
                     '{"tables": ["users", "children", "public.consent_records"]}',
                     severity => 'P0', fail_after => 2,
                     labels => '{"category": "db_health", "runbook": "https://wiki.example/db"}') AS id;
SELECT slo_add_check('consent_columns', 'columns_exist',
                     '{"table": "notification_preferences",
                       "columns": ["notification_consent_granted", "marketing_consent_granted"]}',
                     severity => 'p1') AS id;
SELECT slo_add_check('resolvers', 'function_exists',
                     '{"functions": ["app_health", "app_health()", "lower(text)"]}') AS id;
SELECT name, kind, severity, every, fail_after, labels, enabled, owner::regrole, search_path
  FROM slo_check ORDER BY id;

-- Before the first run every check is unknown and due.
SELECT name, state, status, next_run <= now() AS due FROM slo_status();

-- Run: consent_records is missing, so critical_tables fails (pending: fail_after 2).
SELECT check_name, status, value, summary, id IS NOT NULL AS stored
  FROM slo_run_checks() ORDER BY check_name;
SELECT name, severity, state, status, value, summary, alert_id IS NULL AS no_alert
  FROM slo_status();
-- Nothing is due right after a run.
SELECT count(*) FROM slo_run_checks();
-- Second failure in a row: firing.
SELECT check_name, status FROM slo_run_checks(false) ORDER BY check_name;
SELECT name, state, status FROM slo_status();
SELECT check_name, severity, state, status, value, summary, resolved_at IS NULL AS open
  FROM slo_alert ORDER BY id;
SELECT e.event, a.check_name, e.status, e.payload->>'check' AS payload_check,
       e.payload->'labels'->>'category' AS payload_category
  FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id ORDER BY e.id;

-- Fix it: resolved on the next ok result.
CREATE TABLE consent_records (id int);
SELECT check_name, status, summary FROM slo_run_checks(false) ORDER BY check_name;
SELECT name, state, status, alert_id FROM slo_status();
SELECT event, payload->>'status' AS status FROM slo_alert_event ORDER BY id;
SELECT state, resolved_at >= fired_at AS resolved_after_fired FROM slo_alert;

-- A failing column and a missing function.
ALTER TABLE notification_preferences DROP COLUMN marketing_consent_granted;
DROP FUNCTION app_health();
SELECT check_name, status, value, summary FROM slo_run_checks(false) ORDER BY check_name;
SELECT name, state FROM slo_status();

-- status 'since' keeps the start of the current status.
SELECT (SELECT since FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id
         WHERE c.name = 'consent_columns') AS since_before \gset
SELECT count(*) FROM slo_run_checks(false);
SELECT since = :'since_before' AS since_kept, last_run > since AS rerun
  FROM slo_status() WHERE name = 'consent_columns';

-- History is kept per result.
SELECT check_name, count(*) FROM slo_result GROUP BY 1 ORDER BY 1;

-- Alter: severity, every, fail_after, labels, enabled; unknown name.
SELECT slo_alter_check('resolvers', severity => 'P3', every => '5 minutes') > 0 AS altered;
SELECT slo_alter_check('resolvers', enabled => false) > 0 AS altered;
SELECT name, severity, every, enabled FROM slo_check WHERE name = 'resolvers';
SELECT name, state, next_run FROM slo_status() WHERE name = 'resolvers';
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'resolvers';
SELECT slo_alter_check('resolvers', enabled => true) > 0 AS altered;
SELECT name, state, next_run <= now() AS due FROM slo_status() WHERE name = 'resolvers';
SELECT slo_alter_check('resolvers', params => '{"functions": ["lower(text)"]}') > 0 AS altered;
SELECT check_name, status, summary FROM slo_run_checks() ORDER BY check_name;
SELECT slo_alter_check('no_such_check', severity => 'P1');
SELECT slo_alter_check('resolvers', params => '{"tables": ["x"]}');
SELECT slo_alter_check('resolvers', kind => 'table_exists');
SELECT slo_alter_check('resolvers', severity => 'P9');
SELECT slo_alter_check('resolvers', every => '0 seconds');
SELECT slo_alter_check('resolvers', fail_after => 0);
SELECT slo_alter_check('resolvers', labels => '[1, 2]');
-- a failed alter changed nothing
SELECT name, kind, severity, every, fail_after, params FROM slo_check WHERE name = 'resolvers';
-- changing the kind and params together is fine
SELECT slo_alter_check('resolvers', kind => 'table_exists', params => '{"tables": ["users"]}') > 0 AS altered;
SELECT check_name, status, summary FROM slo_run_checks() ORDER BY check_name;

-- Bad input when adding: clear errors, nothing half-made.
CREATE FUNCTION pg_temp.sqlstate_of(q text) RETURNS text LANGUAGE plpgsql AS
$$ BEGIN EXECUTE q; RETURN 'no error'; EXCEPTION WHEN OTHERS THEN RETURN SQLSTATE; END $$;
SELECT q, pg_temp.sqlstate_of(q) FROM (VALUES
  ($q$SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}')$q$),
  ($q$SELECT slo_add_check('x', 'no_such_kind')$q$),
  ($q$SELECT slo_add_check('x', 'table_exists', '{"tabels": ["users"]}')$q$),
  ($q$SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', every => '500 ms')$q$),
  ($q$SELECT slo_add_check(NULL, 'table_exists', '{"tables": ["users"]}')$q$),
  ($q$SELECT slo_alter_check('no_such_check', severity => 'P1')$q$),
  ($q$SELECT slo_drop_check('no_such_check')$q$)) AS t(q);
SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}');
DO $$
DECLARE msg text; hnt text;
BEGIN
  PERFORM slo_add_check('x', 'no_such_kind');
EXCEPTION WHEN invalid_parameter_value THEN
  GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, hnt = PG_EXCEPTION_HINT;
  RAISE NOTICE '%; hint lists the kinds: %', msg,
    hnt LIKE 'Known kinds are: %table_exists%' AND hnt LIKE '%, sql%';
END $$;
SELECT slo_add_check('x', 'table_exists', '{"tabels": ["users"]}');
SELECT slo_add_check('x', 'table_exists', '{}');
SELECT slo_add_check('x', 'table_exists', '{"tables": "users"}');
SELECT slo_add_check('x', 'table_exists', '{"tables": []}');
SELECT slo_add_check('x', 'table_exists', '{"tables": ["a.b.c"]}');
SELECT slo_add_check('x', 'columns_exist', '{"table": "users", "columns": []}');
SELECT slo_add_check('x', 'function_exists', '{"functions": ["f(int"]}');
SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', severity => 'P5');
SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', every => '500 ms');
SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', every => '100000000 years');
SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', every => '-5 minutes');
SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', fail_after => 0);
SELECT slo_add_check('x', 'table_exists', '{"tables": ["users"]}', labels => '"a"');
SELECT slo_add_check('', 'table_exists', '{"tables": ["users"]}');
SELECT slo_add_check('objective:x', 'table_exists', '{"tables": ["users"]}');
SELECT slo_add_check(NULL, 'table_exists', '{"tables": ["users"]}');
SELECT slo_add_check('x', 'table_exists', NULL);
SELECT count(*) AS checks, (SELECT count(*) FROM slo_check_state) AS states FROM slo_check;

-- A check may name objects that do not exist yet.
SELECT slo_add_check('future', 'table_exists', '{"tables": ["nowhere.not_yet"]}') > 0 AS added;
SELECT check_name, status, summary FROM slo_run_checks() WHERE check_name = 'future';

-- Names resolve with the search_path of the session that added the check.
CREATE SCHEMA app;
CREATE TABLE app.sessions (id int);
SET search_path = app, public;
SELECT slo_add_check('app_sessions', 'table_exists', '{"tables": ["sessions"]}') > 0 AS added;
RESET search_path;
SELECT search_path FROM slo_check WHERE name = 'app_sessions';
SELECT check_name, status, summary FROM slo_run_checks() WHERE check_name = 'app_sessions';

-- Privileges: a role with nothing granted cannot use slo_guard...
CREATE ROLE slo_nobody;
SET ROLE slo_nobody;
SELECT * FROM slo_status();
SELECT slo_add_check('sneaky', 'table_exists', '{"tables": ["users"]}');
SELECT * FROM slo_run_checks();
RESET ROLE;
-- ...the read-only on-call role of the README can read...
CREATE ROLE slo_oncall;
GRANT EXECUTE ON FUNCTION slo_status() TO slo_oncall;
GRANT SELECT ON slo_check, slo_result, slo_alert, slo_alert_event TO slo_oncall;
SET ROLE slo_oncall;
SELECT count(*) > 0 AS can_read FROM slo_status();
SELECT slo_add_check('sneaky', 'table_exists', '{"tables": ["users"]}');
RESET ROLE;
-- ...and the check-admin role can add checks, which run as that role.
CREATE ROLE slo_admin;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
      slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
      slo_drop_check(text, boolean), slo_run_checks(boolean), slo_status() TO slo_admin;
SET ROLE slo_admin;
SELECT slo_add_check('admin_check', 'table_exists', '{"tables": ["users"]}') > 0 AS added;
SELECT check_name, status FROM slo_run_checks() WHERE check_name = 'admin_check';
RESET ROLE;
SELECT owner::regrole FROM slo_check WHERE name = 'admin_check';
SET ROLE slo_admin;
-- direct writes to the tables stay forbidden
INSERT INTO slo_check (name, kind, owner, search_path) VALUES ('x', 'table_exists', 10, '');
SELECT slo_drop_check('admin_check');
RESET ROLE;

-- Drop removes the check, its state, alerts and history.
SELECT slo_drop_check('critical_tables');
SELECT count(*) FROM slo_result r WHERE NOT EXISTS (SELECT 1 FROM slo_check c WHERE c.id = r.check_id);
SELECT count(*) FROM slo_alert WHERE check_name = 'critical_tables';
SELECT slo_drop_check('critical_tables');
SELECT slo_drop_check('critical_tables', if_exists => true);

-- The kinds this version knows.
SELECT kind, params FROM slo_kinds()
 WHERE kind IN ('table_exists', 'columns_exist', 'function_exists', 'migration', 'setting', 'sql')
 ORDER BY kind;
SELECT count(*) = count(DISTINCT kind) AND bool_and(description <> '') AS kinds_unique_and_described
  FROM slo_kinds();

DROP EXTENSION slo_guard;
DROP TABLE users, children, notification_preferences, consent_records, app.sessions;
DROP SCHEMA app;
DROP ROLE slo_nobody, slo_oncall, slo_admin;
