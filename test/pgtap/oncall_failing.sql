-- The failing_checks kind: by count (min_failing), by distinct values of a label,
-- limited by pattern; it never counts itself or another failing_checks check, nor a
-- disabled check; value = the count; summary names them; bad params refused.
BEGIN;
SELECT plan(20);

CREATE FUNCTION fc_run() RETURNS bigint LANGUAGE sql AS $$ SELECT count(*) FROM slo_run_checks(false) $$;
CREATE FUNCTION fc(text) RETURNS text LANGUAGE sql AS
  $$ SELECT status || ' ' || coalesce(value::text, '-') || ' ' || summary FROM slo_status() WHERE name = $1 $$;

CREATE TABLE fc_a (id int);
CREATE TABLE fc_b (id int);
CREATE TABLE fc_c (id int);
SELECT slo_add_check('pay_api', 'table_exists', '{"tables": ["fc_a"]}', labels => '{"category": "payments"}') \g /dev/null
SELECT slo_add_check('pay_db', 'table_exists', '{"tables": ["fc_b"]}', 'P1', labels => '{"category": "payments"}') \g /dev/null
SELECT slo_add_check('consent', 'table_exists', '{"tables": ["fc_c"]}', labels => '{"category": "compliance"}') \g /dev/null
SELECT slo_add_check('nolabel', 'table_exists', '{"tables": ["fc_c"]}') \g /dev/null
SELECT slo_add_check('multi', 'failing_checks', '{}') \g /dev/null
SELECT slo_add_check('multi3', 'failing_checks', '{"min_failing": 3}') \g /dev/null
SELECT slo_add_check('cats', 'failing_checks', '{"by_label": "category"}') \g /dev/null
SELECT slo_add_check('pay_only', 'failing_checks', '{"pattern": "pay\\_%", "min_failing": 2}') \g /dev/null

SELECT fc_run() \g /dev/null
SELECT is(fc('multi'), 'ok 0 0 checks failing (min_failing 2).', 'nothing failing: ok, value 0');
SELECT is(fc('cats'), 'ok 0 0 distinct category values among failing checks (min_failing 2).', 'by label: ok, 0');

-- one check failing: below min_failing
DROP TABLE fc_a;
-- pay_api fails in this pass; failing_checks sees the previous pass's state
SELECT fc_run() \g /dev/null
SELECT fc_run() \g /dev/null
SELECT is(fc('multi'), 'ok 1 1 check failing (min_failing 2): pay_api.', 'one failing: ok, value 1, named');

-- two checks of the same category: by count fails, by label does not
DROP TABLE fc_b;
SELECT fc_run() \g /dev/null
SELECT fc_run() \g /dev/null
SELECT is(fc('multi'), 'fail 2 2 checks failing (min_failing 2): pay_api, pay_db.', 'two failing: fail, value 2');
SELECT is((SELECT state FROM slo_status() WHERE name = 'multi'), 'firing', 'and it fires');
SELECT is(fc('multi3'), 'ok 2 2 checks failing (min_failing 3): pay_api, pay_db.', 'min_failing 3 is not reached');
SELECT is(fc('cats'), 'ok 1 1 distinct category value among failing checks (min_failing 2): payments (pay_db, pay_api).',
          'by label: one category, ok');
SELECT is(fc('pay_only'), 'fail 2 2 checks failing (min_failing 2): pay_api, pay_db.', 'pattern pay\_%: both count');

-- within a label value, checks are named by severity (pay_db is P1), then name
-- a second category fails: by label fails; a check without the label is not counted by label
DROP TABLE fc_c;
SELECT fc_run() \g /dev/null
SELECT fc_run() \g /dev/null
SELECT is(fc('cats'), 'fail 2 2 distinct category values among failing checks (min_failing 2): compliance (consent), payments (pay_db, pay_api).',
          'two categories: fail, value 2, grouped');
SELECT is(fc('multi3'), 'fail 4 4 checks failing (min_failing 3): consent, nolabel, pay_api, pay_db.', 'four failing: min_failing 3 reached');
SELECT is(fc('pay_only'), 'fail 2 2 checks failing (min_failing 2): pay_api, pay_db.', 'pattern keeps consent and nolabel out');
SELECT ok(NOT (SELECT summary FROM slo_status() WHERE name = 'multi3') ~ '(multi|cats|pay_only)[,.]',
          'failing_checks checks (firing themselves) are never counted');
SELECT is((SELECT detail -> 'failing' -> 0 ->> 'check' FROM slo_result r JOIN slo_check c ON c.id = r.check_id
            WHERE c.name = 'cats' ORDER BY r.id DESC LIMIT 1), 'consent', 'detail lists the failing checks');

-- a disabled check does not count
SELECT slo_alter_check('consent', enabled => false) \g /dev/null
SELECT slo_alter_check('nolabel', enabled => false) \g /dev/null
SELECT fc_run() \g /dev/null
SELECT is(fc('cats'), 'ok 1 1 distinct category value among failing checks (min_failing 2): payments (pay_db, pay_api).',
          'disabled checks are not counted');
SELECT is(fc('multi3'), 'ok 2 2 checks failing (min_failing 3): pay_api, pay_db.', 'back under min_failing: ok');

-- params
SELECT throws_ok($$SELECT slo_add_check('bad1', 'failing_checks', '{"min_failing": 0}')$$, '22023', NULL, 'min_failing 0 refused');
SELECT throws_ok($$SELECT slo_add_check('bad2', 'failing_checks', '{"min_failing": 1.5}')$$, '22023', NULL, 'fractional min_failing refused');
SELECT throws_ok($$SELECT slo_add_check('bad3', 'failing_checks', '{"by_label": 3}')$$, '22023', NULL, 'by_label must be a string');
SELECT throws_ok($$SELECT slo_add_check('bad4', 'failing_checks', '{"pattern": "x\\"}')$$, '22023', NULL, 'pattern ending in the escape character');
SELECT throws_ok($$SELECT slo_add_check('bad5', 'failing_checks', '{"minfailing": 2}')$$, '22023', NULL, 'unknown key');

SELECT * FROM finish();
ROLLBACK;
