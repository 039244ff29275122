-- Guards (issue 14): the "guard" param, the watch index, and what DDL re-runs (without
-- the worker: the event triggers run the checks in the DDL's own transaction).
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

-- The param: true, false or "block"; anything else is refused, naming the value.
SELECT slo_add_check('g_bad', 'table_exists', '{"tables": ["x"], "guard": "yes"}');
SELECT slo_add_check('g_bad', 'table_exists', '{"tables": ["x"], "guard": 1}');
SELECT slo_add_check('g_bad', 'sql', '{"query": "SELECT 1", "guard": true}');
SELECT slo_add_check('g_off', 'table_exists', '{"tables": ["g_users"], "guard": false}') > 0 AS added;

CREATE SCHEMA g_app;
CREATE TABLE g_users (id int);
CREATE TABLE g_app.g_orders (id int);
CREATE TABLE g_consent (id int, consent_granted bool, marketing bool);
CREATE FUNCTION g_calc(int) RETURNS int LANGUAGE sql AS 'SELECT $1';
CREATE TABLE g_other (id int);

SELECT slo_add_check('g_tables', 'table_exists', '{"tables": ["g_users", "g_app.g_orders"], "guard": true}') > 0 AS added;
SELECT slo_add_check('g_cols', 'columns_exist', '{"table": "g_consent", "columns": ["consent_granted"], "guard": true}') > 0 AS added;
SELECT slo_add_check('g_func', 'function_exists', '{"functions": ["g_calc(int)"], "guard": true}') > 0 AS added;
SELECT slo_add_check('g_block', 'table_exists', '{"tables": ["g_other"], "guard": "block"}') > 0 AS added;

-- The watch index: one row per watched name, with the object it resolves to.
SELECT c.name, w.objname, w.objid IS NOT NULL AS resolved
  FROM slo_guard_watch w JOIN slo_check c ON c.id = w.check_id ORDER BY 1, 2;

-- Nothing has run yet.
SELECT count(*) AS results FROM slo_result WHERE check_name LIKE 'g\_%';

-- Unrelated DDL runs nothing.
CREATE TABLE g_unrelated (id int);
ALTER TABLE g_unrelated ADD COLUMN x int;
DROP TABLE g_unrelated;
SELECT count(*) AS results FROM slo_result WHERE check_name LIKE 'g\_%';

-- Dropping a guarded table re-runs its check in the same transaction.
DROP TABLE g_users;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_tables' ORDER BY id;
SELECT name, state, status FROM slo_status() WHERE name = 'g_tables';
-- only the checks watching it ran
SELECT count(*) AS others_run FROM slo_result WHERE check_name IN ('g_cols', 'g_func', 'g_block', 'g_off');

-- Re-creating it resolves the alert.
CREATE TABLE g_users (id int);
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_tables' ORDER BY id DESC LIMIT 1;

-- Rename (matched by the OID the name resolved to), then back.
ALTER TABLE g_users RENAME TO g_users_old;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_tables' ORDER BY id DESC LIMIT 1;
ALTER TABLE g_users_old RENAME TO g_users;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_tables' ORDER BY id DESC LIMIT 1;

-- DROP SCHEMA ... CASCADE.
DROP SCHEMA g_app CASCADE;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_tables' ORDER BY id DESC LIMIT 1;

-- DROP ... CASCADE: a guarded view goes with the table it reads.
CREATE TABLE g_base (id int);
CREATE VIEW g_view AS SELECT id FROM g_base;
SELECT slo_add_check('g_viewcheck', 'table_exists', '{"tables": ["g_view"], "guard": true}') > 0 AS added;
DROP TABLE g_base CASCADE;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_viewcheck' ORDER BY id DESC LIMIT 1;

-- A dropped consent column.
ALTER TABLE g_consent DROP COLUMN consent_granted;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_cols' ORDER BY id DESC LIMIT 1;
-- another column of the table: the check runs once per command (one result), still failing
SELECT count(*) AS before FROM slo_result WHERE check_name = 'g_cols' \gset
ALTER TABLE g_consent DROP COLUMN marketing;
SELECT count(*) - :before AS new_results FROM slo_result WHERE check_name = 'g_cols';
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_cols' ORDER BY id DESC LIMIT 1;

-- A renamed function.
ALTER FUNCTION g_calc(int) RENAME TO g_calc2;
SELECT check_name, status, summary FROM slo_result WHERE check_name = 'g_func' ORDER BY id DESC LIMIT 1;

-- Block: the DROP is refused with SQLSTATE SG001, the table stays.
DROP TABLE g_other;
SELECT :'LAST_ERROR_SQLSTATE' AS sqlstate;
SELECT to_regclass('g_other') IS NOT NULL AS still_there;
-- a migration in one transaction: everything before the refused command rolls back too
BEGIN;
CREATE TABLE g_new (id int);
ALTER TABLE g_other RENAME TO g_other2;
ROLLBACK;
SELECT to_regclass('g_new') IS NULL AS rolled_back, to_regclass('g_other') IS NOT NULL AS still_there;
-- Unrelated DDL on the same table passes.
ALTER TABLE g_other ADD COLUMN note text;
-- Dropping the check first lets the migration through.
SELECT slo_drop_check('g_block');
DROP TABLE g_other;

-- A disabled guarded check is not re-run; g_off never was.
SELECT slo_alter_check('g_tables', enabled => false) > 0 AS disabled;
SELECT count(*) AS before FROM slo_result WHERE check_name LIKE 'g\_%' \gset
DROP TABLE g_users;
SELECT count(*) - :before AS new_results FROM slo_result WHERE check_name LIKE 'g\_%';
SELECT count(*) AS off_results FROM slo_result WHERE check_name = 'g_off';

-- Dropping checks empties the index.
SELECT slo_drop_check(name) FROM slo_check WHERE name LIKE 'g\_%' ORDER BY name;
SELECT count(*) AS watch_rows FROM slo_guard_watch;
DROP TABLE g_consent;
DROP FUNCTION g_calc2(int);
