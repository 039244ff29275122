-- What the README says about the sql kind, tested: what its read-only mode stops and
-- what it does not stop, and that an error a query raises never carries row values
-- into a result (data exceptions, RAISE, ... are recorded by SQLSTATE and class only).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

CREATE TABLE ro_target (id int);
CREATE SEQUENCE ro_seq;
CREATE FUNCTION ro_insert() RETURNS int LANGUAGE sql AS 'INSERT INTO ro_target VALUES (1) RETURNING 1';
CREATE FUNCTION ro_update() RETURNS int LANGUAGE plpgsql AS
  $$BEGIN UPDATE ro_target SET id = 2; RETURN 1; END$$;
SELECT count(*) AS large_objects_before FROM pg_largeobject_metadata;

SELECT count(*) AS added FROM (VALUES
  ('ro_nextval',       'SELECT nextval(''ro_seq'')'),
  ('ro_insert_fn',     'SELECT ro_insert()'),
  ('ro_update_fn',     'SELECT ro_update()'),
  ('ro_lo_from_bytea', 'SELECT (lo_from_bytea(0, ''written by a check'') > 0)::int'),
  ('ro_pg_notify',     'SELECT count(*) FROM (SELECT pg_notify(''slo_test'', ''sent by a check'')) n'),
  ('ro_txid_current',  'SELECT (txid_current() > 0)::int')
) v(n, q), LATERAL slo_add_check(n, 'sql', jsonb_build_object('query', q)) id;
-- Stopped: nextval and writes to tables, also from inside functions.  Not stopped:
-- large objects, NOTIFY, assigning a transaction ID.
SELECT check_name, status, summary
  FROM slo_run_checks(false) WHERE check_name LIKE 'ro\_%' ORDER BY check_name;
SELECT count(*) AS large_objects_after FROM pg_largeobject_metadata;
SELECT count(*) AS rows_written FROM ro_target;
SELECT lo_unlink(oid) FROM pg_largeobject_metadata \g /dev/null

-- Errors: row values never reach a result.
CREATE TABLE secrets (secret text);
INSERT INTO secrets VALUES ('hunter2');
CREATE FUNCTION leak() RETURNS int LANGUAGE plpgsql AS
  $$BEGIN RAISE EXCEPTION 'row: %', (SELECT secret FROM secrets LIMIT 1)
      USING DETAIL = 'detail hunter2', HINT = 'hint hunter2'; END$$;
CREATE VIEW alembic_leak AS SELECT ('v' || secret)::int::text AS version_num FROM secrets;
SELECT count(*) AS added FROM (VALUES
  ('err_cast',         'SELECT (''x'' || secret)::int FROM secrets'),
  ('err_divide',       'SELECT 1 / (SELECT count(*) FROM secrets WHERE secret = ''none'')::int'),
  ('err_raise',        'SELECT leak()'),
  ('err_missing',      'SELECT count(*) FROM no_such_table'),
  ('err_text_value', 'SELECT secret FROM secrets')
) v(n, q), LATERAL slo_add_check(n, 'sql', jsonb_build_object('query', q)) id;
SELECT slo_add_check('err_migration', 'migration', '{"table": "alembic_leak", "tool": "alembic"}') > 0 AS added;
CREATE TEMP TABLE err AS
  SELECT * FROM slo_run_checks(false) WHERE check_name LIKE 'err\_%';
SELECT check_name, status, summary FROM err ORDER BY check_name;
SELECT count(*) AS results_with_the_secret
  FROM slo_result WHERE summary LIKE '%hunter2%' OR detail::text LIKE '%hunter2%';
SELECT count(*) AS events_with_the_secret
  FROM slo_alert_event WHERE payload::text LIKE '%hunter2%';

SELECT count(*) AS dropped FROM slo_check s, LATERAL slo_drop_check(s.name) d;
DROP VIEW alembic_leak;
DROP FUNCTION leak(), ro_insert(), ro_update();
DROP TABLE secrets, ro_target;
DROP SEQUENCE ro_seq;
