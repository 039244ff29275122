-- Setup for bench/catalog_checks.sh (run with psql -v nchecks=N -v ntables=N -v sample=N).
--
-- Builds an app schema of :ntables tables and 20 functions, describes :nchecks
-- catalog checks in bench_def (the slo_guard params and the equivalent
-- check_postgres custom_query for each), and registers them with slo_add_check.
--
-- Mix: 70 % table_exists, 20 % columns_exist, 10 % function_exists (half by name,
-- half by signature). Every 27th check (i % 27 = 14) watches something missing, so
-- it fails and opens an alert on the first pass.
-- The check_postgres sample takes i = 20k - (k % 10), k = 1..:sample: every kind in
-- the same proportions, spread over the whole list.

\set ON_ERROR_STOP 1
SET client_min_messages = warning;

DROP SCHEMA IF EXISTS app CASCADE;
CREATE SCHEMA app;

SELECT format('CREATE TABLE app.t%s (id bigint PRIMARY KEY, name text NOT NULL, '
              'created_at timestamptz NOT NULL DEFAULT now())', t)
  FROM generate_series(0, :ntables - 1) t
\gexec

SELECT format('CREATE FUNCTION app.f%s(x integer) RETURNS integer '
              'LANGUAGE sql IMMUTABLE AS ''SELECT x + %s''', f, f)
  FROM generate_series(0, 19) f
\gexec

DROP TABLE IF EXISTS bench_def;
CREATE TABLE bench_def (
    i        integer PRIMARY KEY,
    name     text NOT NULL,
    kind     text NOT NULL,
    params   jsonb NOT NULL,
    failing  boolean NOT NULL,
    sampled  boolean NOT NULL,
    cp_query text NOT NULL      -- the same check as a check_postgres custom_query
);

INSERT INTO bench_def (i, name, kind, params, failing, sampled, cp_query)
SELECT i, 'cat_' || i, kind, params, failing,
       i IN (SELECT 20 * k - k % 10 FROM generate_series(1, :sample) k),
       CASE kind
         WHEN 'table_exists' THEN format(
           'SELECT count(*) AS result FROM unnest(%L::text[]) n WHERE to_regclass(n) IS NULL',
           ARRAY(SELECT jsonb_array_elements_text(params -> 'tables')))
         WHEN 'columns_exist' THEN format(
           'SELECT count(*) AS result FROM unnest(%L::text[]) c WHERE NOT EXISTS '
           '(SELECT 1 FROM pg_attribute a WHERE a.attrelid = to_regclass(%L) '
           'AND a.attname = c AND a.attnum > 0 AND NOT a.attisdropped)',
           ARRAY(SELECT jsonb_array_elements_text(params -> 'columns')), params ->> 'table')
         ELSE format(
           'SELECT count(*) AS result FROM unnest(%L::text[]) f WHERE CASE WHEN strpos(f, %L) > 0 '
           'THEN to_regprocedure(f) IS NULL ELSE NOT EXISTS (SELECT 1 FROM pg_proc p '
           'JOIN pg_namespace s ON s.oid = p.pronamespace WHERE s.nspname = (parse_ident(f))[1] '
           'AND p.proname = (parse_ident(f))[2]) END',
           ARRAY(SELECT jsonb_array_elements_text(params -> 'functions')), '(')
       END
  FROM (
    SELECT i, failing,
           CASE WHEN i % 10 < 7 THEN 'table_exists'
                WHEN i % 10 < 9 THEN 'columns_exist'
                ELSE 'function_exists' END AS kind,
           CASE WHEN i % 10 < 7 THEN
                  jsonb_build_object('tables', jsonb_build_array(
                    CASE WHEN failing THEN 'app.gone_' || i ELSE 'app.t' || (i % :ntables) END))
                WHEN i % 10 < 9 THEN
                  jsonb_build_object('table', 'app.t' || (i % :ntables),
                    'columns', CASE WHEN failing
                                 THEN jsonb_build_array('id', 'name', 'consent_given')
                                 ELSE jsonb_build_array('id', 'name', 'created_at') END)
                ELSE
                  jsonb_build_object('functions', jsonb_build_array(
                    CASE WHEN failing THEN 'app.gone_f' || i || '(integer)'
                         WHEN i % 20 < 10 THEN 'app.f' || (i % 20)
                         ELSE 'app.f' || (i % 20) || '(integer)' END))
           END AS params
      FROM (SELECT i, i % 27 = 14 AS failing FROM generate_series(1, :nchecks) i) s
  ) d;

SELECT count(slo_add_check(name, kind, params, 'P1')) AS registered
  FROM (SELECT * FROM bench_def ORDER BY i) d;
