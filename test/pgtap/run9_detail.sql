-- Issue 9: a check's detail is built as jsonb inside its own subtransaction, so
-- a malformed detail is that check's `error`, never a failed pass.  A real
-- path to one: table_growth prints pg_class.reltuples with %.0f, and a
-- reltuples of Infinity (a catalog row a superuser wrote) prints "inf", which
-- is not JSON.  Before this change the whole pass failed in its final INSERT.
BEGIN;
SELECT plan(6);

UPDATE slo_check SET enabled = false \g /dev/null
CREATE TABLE d_big (id int);
SELECT slo_add_check('d_growth', 'table_growth', '{"tables": ["d_big"], "max_rows": 1000000}') \g /dev/null
SELECT slo_add_check('d_ok', 'table_exists', '{"tables": ["d_big"]}') \g /dev/null
UPDATE pg_class SET reltuples = 'Infinity' WHERE oid = 'd_big'::regclass \g /dev/null

SELECT lives_ok($$CREATE TEMP TABLE r AS SELECT * FROM slo_run_checks(false)$$,
                'the pass survives a check whose detail is not valid JSON');
SELECT is((SELECT status FROM r WHERE check_name = 'd_growth'), 'error',
          'the malformed detail is that check''s error');
SELECT matches((SELECT summary FROM r WHERE check_name = 'd_growth'),
               'invalid input syntax for type json \(SQLSTATE 22P02\)',
               'naming the JSON error');
SELECT is((SELECT detail FROM r WHERE check_name = 'd_growth'), NULL, 'and no detail');
SELECT is((SELECT status FROM r WHERE check_name = 'd_ok'), 'ok', 'the other check of the pass is ok');
SELECT is((SELECT string_agg(check_name || ':' || status, ',' ORDER BY check_name)
             FROM slo_result WHERE check_name LIKE 'd\_%'),
          'd_growth:error,d_ok:ok', 'both results stored');

SELECT * FROM finish();
ROLLBACK;
