-- Issue 15: interval params without overflow and with their real bounds, text
-- echoed in errors cut to a short marked length, row-locking queries refused.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;
\set VERBOSITY default

-- intervals: summed without int64 overflow, refused with the param's real bound
SELECT slo_add_check('h_age', 'long_transactions', '{"max_age": "116834123 years 8 months"}');
SELECT slo_add_check('h_age', 'long_transactions', '{"max_age": "300000 years"}');
SELECT slo_add_check('h_age', 'long_transactions', '{"max_age": "1 year 6 days"}');
SELECT slo_add_check('h_age', 'long_transactions', '{"max_age": "1 microsecond"}');
SELECT slo_add_check('h_age', 'long_transactions', '{"max_age": "0.4 ms"}');
SELECT slo_add_check('h_age', 'long_transactions', '{"max_age": "-178000000 years"}');
SELECT slo_add_check('h_win', 'window', '{"of": "x", "window": "2 years"}');
SELECT slo_add_check('h_lag', 'replication_lag', '{"max_lag": "999 ms"}');
SELECT slo_add_check('h_sql', 'sql', '{"query": "SELECT 1", "timeout": "0.4 ms"}');
SELECT slo_add_check('h_sql', 'sql', '{"query": "SELECT 1", "timeout": "2147483647 days"}');
-- the bounds themselves are accepted
SELECT slo_add_check('h_age1', 'long_transactions', '{"max_age": "1 second"}') > 0 AS added;
SELECT slo_add_check('h_age2', 'long_transactions', '{"max_age": "1 year"}') > 0 AS added;
SELECT slo_add_check('h_age3', 'long_transactions', '{"max_age": "360 days"}') > 0 AS added;
SELECT slo_add_check('h_sql1', 'sql', '{"query": "SELECT 1", "timeout": "1 ms"}') > 0 AS added;

-- every: 1 second to 1 year, no overflow
SELECT slo_add_check('h_every', 'table_exists', '{"tables": ["t"]}', every => '1 year 6 days');
SELECT slo_add_check('h_every', 'table_exists', '{"tables": ["t"]}', every => '116834123 years 8 months');
SELECT slo_add_check('h_every', 'table_exists', '{"tables": ["t"]}', every => '2147483647 days');
SELECT slo_add_check('h_every', 'table_exists', '{"tables": ["t"]}', every => '1 year -400 days');
SELECT slo_add_check('h_every', 'table_exists', '{"tables": ["t"]}', every => '0.4 ms');
SELECT slo_add_check('h_every', 'table_exists', '{"tables": ["t"]}', every => '1 year') > 0 AS added;
SELECT slo_alter_check('h_every', every => '1 year 1 day');
SELECT slo_alter_check('h_every', every => '1 second') > 0 AS altered;

-- echoed text is cut: 64 characters, then how many more
SELECT slo_add_check(repeat('n', 10000), 'table_exists', '{"tables": ["t"]}');
SELECT slo_drop_check(repeat('é', 300));
SELECT slo_alter_check(repeat('x', 5000), severity => 'P1');
SELECT slo_add_check('h_sev', 'table_exists', '{"tables": ["t"]}', severity => repeat('P', 1000));
SELECT slo_add_check('h_kind', repeat('k', 1000), '{}');
SELECT slo_add_check('h_key', 'table_exists', jsonb_build_object(repeat('k', 1000), 1));
SELECT slo_add_check('h_val', 'table_exists', jsonb_build_object('tables', repeat('v', 1000)));
SELECT slo_add_check('h_miss', 'columns_exist', jsonb_build_object('table', repeat('t', 100000)));
SELECT slo_add_check('h_arr', 'table_exists', to_jsonb(repeat('a', 1000)));
SELECT slo_add_check('h_lab', 'table_exists', '{"tables": ["t"]}', labels => to_jsonb(repeat('l', 1000)));
SELECT slo_add_check('h_q', 'sql', jsonb_build_object('query', 'SELECT ' || repeat('1 + ', 1000) || '1; SELECT 2'));
-- a parser message that quotes the rest of a long query is cut too
DO $$
DECLARE m text; d text;
BEGIN
  PERFORM slo_add_check('h_unterminated', 'sql',
    jsonb_build_object('query', 'SELECT ''' || repeat('z', 5000)));
EXCEPTION WHEN OTHERS THEN
  GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL;
  RAISE NOTICE 'sqlstate %, message under 400: %, detail under 700: %, detail cut: %',
    SQLSTATE, length(m) < 400, length(d) < 700, d LIKE '%more characters)';
END $$;
SELECT slo_add_objective(repeat('o', 1000), 'h_age1', 0.99);
SELECT slo_add_objective('h_obj', repeat('c', 1000), 0.99);
-- no message is longer than a few hundred bytes, whatever the input size
DO $$
DECLARE
  m text; d text; h text; longest int := 0;
BEGIN
  FOR i IN 1..6 LOOP
    BEGIN
      CASE i
        WHEN 1 THEN PERFORM slo_add_check(repeat('n', 100000), 'table_exists', '{"tables": ["t"]}');
        WHEN 2 THEN PERFORM slo_add_check('x', 'columns_exist', jsonb_build_object('table', repeat('t', 200000)));
        WHEN 3 THEN PERFORM slo_add_check('x', 'table_exists', jsonb_build_object(repeat('k', 200000), 1));
        WHEN 4 THEN PERFORM slo_add_check('x', 'sql', jsonb_build_object('query', repeat('(', 100000)));
        WHEN 5 THEN PERFORM slo_add_check('x', repeat('k', 100000), '{}');
        ELSE PERFORM slo_drop_check(repeat('d', 100000));
      END CASE;
    EXCEPTION WHEN OTHERS THEN
      GET STACKED DIAGNOSTICS m = MESSAGE_TEXT, d = PG_EXCEPTION_DETAIL, h = PG_EXCEPTION_HINT;
      longest := greatest(longest, length(m), length(coalesce(d, '')));
    END;
  END LOOP;
  RAISE NOTICE 'longest message or detail under 600 characters: %', longest < 600;
END $$;

-- a query that locks rows, even in a subquery, is refused when added
SELECT slo_add_check('h_lock1', 'sql', '{"query": "SELECT count(*) FROM pg_class FOR UPDATE"}');
SELECT slo_add_check('h_lock2', 'sql', '{"query": "SELECT count(*) FROM (SELECT 1 FROM pg_class FOR UPDATE) s"}');
SELECT slo_add_check('h_lock3', 'sql', '{"query": "SELECT (SELECT count(*) FROM (SELECT 1 FROM pg_class FOR SHARE) a)"}');
SELECT slo_add_check('h_lock4', 'sql', '{"query": "WITH c AS (SELECT 1 FROM pg_class FOR KEY SHARE) SELECT count(*) FROM c"}');
SELECT slo_add_check('h_lock5', 'sql', '{"query": "SELECT 1 WHERE EXISTS (SELECT 1 FROM pg_class FOR NO KEY UPDATE)"}');
SELECT slo_add_check('h_lock6', 'sql', '{"query": "SELECT count(*) FROM pg_class WHERE relname IN (SELECT relname FROM pg_class FOR UPDATE)"}');
SELECT count(*) AS lock_checks_made FROM slo_check WHERE name LIKE 'h_lock%';
-- a plain read still passes, and the valid checks above run
SELECT slo_add_check('h_nolock', 'sql', '{"query": "SELECT count(*) FROM (SELECT 1 FROM pg_class) s", "fail_below": 1}') > 0 AS added;
SELECT check_name, status FROM slo_run_checks(false) WHERE check_name LIKE 'h\_%' ORDER BY 1;
SELECT name, every FROM slo_check WHERE name LIKE 'h\_%' ORDER BY 1;
SELECT slo_drop_check(name) FROM slo_check WHERE name LIKE 'h\_%' ORDER BY name;
