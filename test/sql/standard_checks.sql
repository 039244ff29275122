-- slo_add_standard_checks(): the starter set, added once, as the calling role, each
-- kind's real checks running on this server; privileges.
SET client_min_messages = warning;
CREATE EXTENSION IF NOT EXISTS slo_guard;
RESET client_min_messages;

SELECT slo_add_standard_checks() AS added;
SELECT name, kind, params, severity, every, fail_after, labels, owner::regrole = current_user::regrole AS mine,
       search_path
  FROM slo_check WHERE name LIKE 'std\_%' ORDER BY name;
-- Running it twice adds nothing twice.
SELECT slo_add_standard_checks() AS added_again;
SELECT count(*) FROM slo_check WHERE name LIKE 'std\_%';

-- A check that was tuned is kept as it is; one that was dropped comes back.
SELECT slo_alter_check('std_long_transactions', params => '{"max_age": "1 hour"}') > 0 AS tuned;
SELECT slo_drop_check('std_wraparound');
SELECT slo_add_standard_checks() AS added_back;
SELECT name, params FROM slo_check WHERE name IN ('std_long_transactions', 'std_wraparound') ORDER BY name;

-- They run on this server: nothing is wrong with a fresh test cluster (no standbys,
-- few connections, young transaction IDs, no other open transaction).
SELECT check_name, status FROM slo_run_checks(false) WHERE check_name LIKE 'std\_%' ORDER BY check_name;
SELECT name, state, severity FROM slo_status() WHERE name LIKE 'std\_%' ORDER BY name;

-- Not granted to PUBLIC; a role granted it adds the checks as itself (and needs
-- slo_add_check too, which it calls).
SELECT has_function_privilege('public', 'slo_add_standard_checks()', 'EXECUTE') AS public_can_execute;
SELECT count(*) FILTER (WHERE slo_drop_check(name)) AS dropped FROM slo_check WHERE name LIKE 'std\_%';
CREATE ROLE regress_slo_std;
GRANT EXECUTE ON FUNCTION slo_add_standard_checks() TO regress_slo_std;
SET ROLE regress_slo_std;
SELECT slo_add_standard_checks();
RESET ROLE;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
   TO regress_slo_std;
SET ROLE regress_slo_std;
SELECT slo_add_standard_checks() AS added_by_role;
RESET ROLE;
SELECT DISTINCT owner::regrole AS owner FROM slo_check WHERE name LIKE 'std\_%';

-- Clean up.
DROP EXTENSION slo_guard;
DROP ROLE regress_slo_std;
