-- rls_disabled with its default schemas (public), where slo_guard and pgtap live:
-- a new app table without row level security fails the check, names the table and
-- opens an alert; ENABLE ROW LEVEL SECURITY resolves it.  Extensions' own tables
-- (slo_guard's are in public here) never count.
BEGIN;
SELECT plan(12);

CREATE FUNCTION rls_result(OUT status text, OUT value float8, OUT summary text, OUT detail jsonb)
  LANGUAGE sql AS
  $$ SELECT status, value, summary, detail FROM slo_run_checks(false) WHERE check_name = 'rls' $$;

SELECT ok(slo_add_check('rls', 'rls_disabled', severity => 'P1') > 0,
          'rls_disabled added with its defaults');

SELECT is((SELECT status FROM rls_result()), 'ok',
          'only extension tables in public: ok');

CREATE TABLE public.patient_notes (id int, body text);
SELECT results_eq(
  $$ SELECT status, value, summary FROM rls_result() $$,
  $$ VALUES ('fail'::text, 1::float8,
             'Table public.patient_notes has row level security disabled, so any role with table privileges reads all its rows.'::text) $$,
  'a table in public without RLS fails, named in the summary, value = 1');
SELECT is((SELECT state FROM slo_status() WHERE name = 'rls'), 'firing',
          'the failure opens an alert');
SELECT is((SELECT detail->'tables' FROM rls_result()), '["public.patient_notes"]'::jsonb,
          'detail lists the table');
SELECT cmp_ok((SELECT (detail->>'extension_tables_skipped')::int FROM rls_result()), '>=', 5,
              'slo_guard''s own tables in public are skipped');
SELECT ok((SELECT summary !~ 'slo_' FROM rls_result()), 'no slo_ table is named');

-- A partition is a table of its own: reading it directly bypasses the parent's policies.
CREATE TABLE public.visits (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE public.visits_2025 PARTITION OF public.visits
  FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
ALTER TABLE public.visits ENABLE ROW LEVEL SECURITY;
SELECT results_eq(
  $$ SELECT status, value, summary FROM rls_result() $$,
  $$ VALUES ('fail'::text, 2::float8,
             '2 tables in public have row level security disabled: public.patient_notes, public.visits_2025.'::text) $$,
  'a partition without RLS counts too');

ALTER TABLE public.patient_notes ENABLE ROW LEVEL SECURITY;
ALTER TABLE public.visits_2025 ENABLE ROW LEVEL SECURITY;
SELECT results_eq(
  $$ SELECT status, value, summary FROM rls_result() $$,
  $$ VALUES ('ok'::text, 0::float8, 'Every table in public has row level security enabled.'::text) $$,
  'ENABLE ROW LEVEL SECURITY makes it ok');
SELECT is((SELECT state FROM slo_status() WHERE name = 'rls'), 'ok', 'the alert resolves');
SELECT is((SELECT array_agg(e.event ORDER BY e.id) FROM slo_alert_event e
             JOIN slo_alert a ON a.id = e.alert_id WHERE a.check_name = 'rls'),
          '{firing,resolved}'::text[], 'firing then resolved');

-- Views, sequences and materialized views are not tables with rows to protect.
CREATE VIEW public.notes_view AS SELECT id FROM public.patient_notes;
CREATE MATERIALIZED VIEW public.notes_mv AS SELECT 1 AS one;
CREATE SEQUENCE public.notes_seq;
SELECT is((SELECT status FROM rls_result()), 'ok', 'views, matviews and sequences do not count');

SELECT * FROM finish();
ROLLBACK;
