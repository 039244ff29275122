-- 200+ malformed params: each one is refused with SQLSTATE 22023, a message naming the
-- key (where there is one) and a hint; nothing is half-made; the server stays up.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

CREATE TEMP TABLE base (kind text, params jsonb);
INSERT INTO base VALUES
  ('table_exists',    '{"tables": ["users"]}'),
  ('columns_exist',   '{"table": "users", "columns": ["id"]}'),
  ('function_exists', '{"functions": ["now"]}'),
  ('migration',       '{"table": "alembic_version"}'),
  ('setting',         '{"name": "app.data_region", "allowed": ["canada-central"]}'),
  ('sql',             '{"query": "SELECT 1"}');

CREATE TEMP TABLE keys (kind text, key text, class text);
INSERT INTO keys VALUES
  ('table_exists', 'tables', 'names'),
  ('columns_exist', 'table', 'name'), ('columns_exist', 'columns', 'names'),
  ('function_exists', 'functions', 'names'),
  ('migration', 'table', 'name'), ('migration', 'expect', 'string'), ('migration', 'tool', 'tool'),
  ('setting', 'name', 'name'), ('setting', 'allowed', 'names'),
  ('sql', 'query', 'query'), ('sql', 'warn_above', 'number'), ('sql', 'fail_above', 'number'),
  ('sql', 'warn_below', 'number'), ('sql', 'fail_below', 'number'), ('sql', 'timeout', 'interval');

CREATE TEMP TABLE bad (class text, value jsonb);
INSERT INTO bad (class, value)
SELECT c, v::jsonb FROM (VALUES
  ('names', 'null'), ('names', '1'), ('names', '"users"'), ('names', '{}'), ('names', '[1]'),
  ('names', '[null]'), ('names', '[[]]'), ('names', 'true'), ('names', '[{"a": 1}]'),
  ('names', '[]'), ('names', '[""]'), ('names', '[1, "users"]'), ('names', '["users", null]'),
  ('names', '"[]"'),
  ('name', 'null'), ('name', '1'), ('name', '[]'), ('name', '{}'), ('name', 'true'),
  ('name', '""'), ('name', '["x"]'), ('name', '"bad name!"'),
  ('string', 'null'), ('string', '1'), ('string', '[]'), ('string', '{}'), ('string', 'true'),
  ('string', '""'), ('string', '["x"]'),
  ('tool', 'null'), ('tool', '1'), ('tool', '"liquibase"'), ('tool', '""'), ('tool', '["alembic"]'),
  ('tool', '{}'), ('tool', 'false'),
  ('query', 'null'), ('query', '1'), ('query', '[]'), ('query', '""'), ('query', '"SELEC 1"'),
  ('query', '"SELECT 1; SELECT 2"'), ('query', '"SELECT (1"'), ('query', '{"q": "SELECT 1"}'),
  ('query', 'true'),
  ('number', '"10"'), ('number', 'null'), ('number', '[]'), ('number', '{}'), ('number', 'true'),
  ('number', '[1]'), ('number', '"abc"'),
  ('interval', '"soon"'), ('interval', '"-5 seconds"'), ('interval', '5'), ('interval', 'null'),
  ('interval', '"0 ms"'), ('interval', '[]'), ('interval', '""'), ('interval', '"1 fortnight"'),
  ('interval', '{"ms": 5}')
) AS t(c, v);

CREATE TEMP TABLE cases (kind text, key text, params jsonb);
-- one bad value per key and type
INSERT INTO cases
SELECT b.kind, k.key, b.params || jsonb_build_object(k.key, v.value)
  FROM base b JOIN keys k USING (kind) JOIN bad v USING (class);
-- params that are not an object at all
INSERT INTO cases
SELECT b.kind, NULL, v::jsonb
  FROM base b, unnest(ARRAY['[]', '1', '"x"', 'null', 'true', '[{"tables": ["users"]}]']) v;
-- unknown keys (typos and foreign keys)
INSERT INTO cases
SELECT b.kind, u, b.params || jsonb_build_object(u, 1)
  FROM base b, unnest(ARRAY['tabels', 'guard_', 'Tables', '']) u;
-- a required key missing
INSERT INTO cases
SELECT b.kind, k.key, b.params - k.key
  FROM base b JOIN keys k USING (kind)
 WHERE k.key IN ('tables', 'table', 'columns', 'functions', 'name', 'allowed', 'query');
-- inconsistent thresholds
INSERT INTO cases VALUES
  ('sql', 'warn_above', '{"query": "SELECT 1", "warn_above": 10, "fail_above": 5}'),
  ('sql', 'warn_below', '{"query": "SELECT 1", "warn_below": 1, "fail_below": 5}');

CREATE TEMP TABLE outcome (n int, kind text, key text, params jsonb, sqlstate text,
                           message text, hint text);
DO $$
DECLARE
  r record;
  i int := 0;
  st text; msg text; hnt text;
BEGIN
  FOR r IN SELECT * FROM cases LOOP
    i := i + 1;
    BEGIN
      PERFORM slo_add_check('malformed_' || i, r.kind, r.params);
      INSERT INTO outcome VALUES (i, r.kind, r.key, r.params, 'accepted', NULL, NULL);
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS st = RETURNED_SQLSTATE, msg = MESSAGE_TEXT, hnt = PG_EXCEPTION_HINT;
      INSERT INTO outcome VALUES (i, r.kind, r.key, r.params, st, msg, hnt);
    END;
  END LOOP;
END
$$;

SELECT count(*) >= 200 AS at_least_200_cases FROM outcome;
-- every case refused with 22023 (a case listed here was accepted or got another code)
SELECT kind, params, sqlstate, message FROM outcome WHERE sqlstate <> '22023' ORDER BY n;
-- every refusal has a hint listing what is accepted
SELECT kind, params, message FROM outcome WHERE coalesce(hint, '') = '' ORDER BY n;
-- every refusal about a key names that key
SELECT kind, key, params, message FROM outcome
 WHERE key IS NOT NULL AND key <> '' AND position('"' || key || '"' IN message) = 0 ORDER BY n;
-- nothing was half-made
SELECT count(*) AS checks FROM slo_check;
SELECT count(*) AS states FROM slo_check_state;
-- and the server is still up
SELECT 'still up' AS server;

DROP EXTENSION slo_guard;
