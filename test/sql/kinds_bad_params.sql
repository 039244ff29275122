-- Every runner copes with any params row.  slo_add_check validates params, but a row can
-- reach a runner without that (an older dump, a direct write by the table owner): here the
-- superuser writes bad params straight into slo_check for every kind (a required key
-- missing, null, of the wrong type, nested garbage; params that are not an object; an
-- optional key of the wrong type) and runs them.  Each must be an `error` result whose
-- summary names the key with SQLSTATE 22023; nothing crashes, and good checks of the same
-- pass still get their results.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

CREATE TEMP TABLE base (kind text, params jsonb, required text[], optional text[]);
INSERT INTO base VALUES
  ('table_exists',      '{"tables": ["t"]}', '{tables}', '{}'),
  ('columns_exist',     '{"table": "t", "columns": ["c"]}', '{table,columns}', '{}'),
  ('function_exists',   '{"functions": ["now"]}', '{functions}', '{}'),
  ('migration',         '{"table": "alembic_version"}', '{table}', '{expect,tool}'),
  ('setting',           '{"name": "app.region", "allowed": ["x"]}', '{name,allowed}', '{}'),
  ('sql',               '{"query": "SELECT 1"}', '{query}', '{warn_above,fail_above,warn_below,fail_below,timeout}'),
  ('table_growth',      '{"tables": ["t"], "max_bytes": 1000}', '{tables}', '{max_bytes,max_rows,max_growth_per_day,warn_days_to_limit}'),
  ('window',            '{"of": "other", "window": "5 minutes"}', '{of,window}', '{percentile,fail_rate,warn_above,fail_above}'),
  ('connections',       '{}', '{}', '{warn_pct,fail_pct}'),
  ('wraparound',        '{}', '{}', '{warn_pct,fail_pct}'),
  ('long_transactions', '{}', '{}', '{max_age,include_idle}'),
  ('rls_disabled',      '{}', '{}', '{schemas}'),
  ('replication_lag',   '{}', '{}', '{max_lag,slot_max_bytes}'),
  ('slow_queries',      '{}', '{}', '{max_mean_ms,min_calls}');

-- The bad rows: (kind, key the message must name, params).
CREATE TEMP TABLE cases (n serial, kind text, key text, params jsonb);
-- a required key missing, null, a number, an object, nested garbage, an empty string
INSERT INTO cases (kind, key, params)
SELECT b.kind, k, p
  FROM base b, unnest(b.required) k,
       LATERAL (VALUES (b.params - k),
                       (b.params || jsonb_build_object(k, NULL)),
                       (b.params || jsonb_build_object(k, 1)),
                       (b.params || jsonb_build_object(k, '{"a": [{"b": null}]}'::jsonb)),
                       (b.params || jsonb_build_object(k, '[[1, {"x": []}], null]'::jsonb)),
                       (b.params || jsonb_build_object(k, ''))) v(p);
-- an optional key null, of a wrong type, nested garbage
INSERT INTO cases (kind, key, params)
SELECT b.kind, k, p
  FROM base b, unnest(b.optional) k,
       LATERAL (VALUES (b.params || jsonb_build_object(k, NULL)),
                       (b.params || jsonb_build_object(k, '{"a": [{"b": null}]}'::jsonb)),
                       (b.params || jsonb_build_object(k, CASE WHEN k IN ('fail_rate', 'include_idle')
                                                               THEN '"yes"'::jsonb ELSE 'true'::jsonb END))) v(p);
-- params that are not a JSON object at all (no key to name: the message says params)
INSERT INTO cases (kind, key, params)
SELECT b.kind, 'params', p::jsonb
  FROM base b, unnest(ARRAY['[]', 'null', '"x"', '1', '[{"tables": ["t"]}]']) p;

SELECT count(*) > 200 AS many_cases FROM cases;

-- Register a valid check per case, then overwrite its params as the table owner would.
SELECT count(*) AS added
  FROM base b JOIN cases c USING (kind),
       LATERAL slo_add_check('bad_' || c.n, c.kind, b.params,
                             every => '1 hour') AS id;
UPDATE slo_check s SET params = c.params FROM cases c WHERE s.name = 'bad_' || c.n;
-- and a good check in the same pass
SELECT slo_add_check('good_one', 'function_exists', '{"functions": ["now"]}') > 0 AS added;

CREATE TEMP TABLE res AS SELECT * FROM slo_run_checks(false);

-- Every bad row: an error result naming the key, with SQLSTATE 22023.
SELECT count(*) AS bad_results,
       count(*) FILTER (WHERE r.status = 'error') AS errors,
       count(*) FILTER (WHERE r.summary LIKE '%SQLSTATE 22023%') AS sqlstate_22023,
       count(*) FILTER (WHERE r.summary LIKE '%"' || c.key || '"%'
                           OR (c.key = 'params' AND r.summary LIKE '%must be a JSON object%')) AS names_key
  FROM cases c JOIN res r ON r.check_name = 'bad_' || c.n;
-- (none listed here: each such row would be a runner that did not say what was wrong)
SELECT c.kind, c.key, c.params, r.status, r.summary
  FROM cases c JOIN res r ON r.check_name = 'bad_' || c.n
 WHERE r.status <> 'error' OR r.summary NOT LIKE '%SQLSTATE 22023%'
    OR NOT (r.summary LIKE '%"' || c.key || '"%'
            OR (c.key = 'params' AND r.summary LIKE '%must be a JSON object%'))
 ORDER BY c.n;
SELECT check_name, status, summary FROM res WHERE check_name = 'good_one';
-- The alert state followed (error counts as a failure) and the backend is alive.
SELECT count(*) FILTER (WHERE state = 'firing') = (SELECT count(*) FROM cases) AS all_firing FROM slo_status();

-- A few of them, as the user reads them.
SELECT c.kind, c.params, r.summary
  FROM cases c JOIN res r ON r.check_name = 'bad_' || c.n
 WHERE (c.kind, c.params) IN (('setting', '{"allowed": ["x"]}'),
                              ('columns_exist', '{"table": "t", "columns": null}'),
                              ('window', '{"of": "other", "window": 1}'),
                              ('table_growth', '{"tables": [[1, {"x": []}], null], "max_bytes": 1000}'),
                              ('migration', '[]'))
 ORDER BY c.n;

SELECT count(*) AS dropped FROM slo_check s, LATERAL slo_drop_check(s.name) d;
