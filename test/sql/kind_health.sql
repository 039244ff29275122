-- Database-health kinds: connections, wraparound, long_transactions, rls_disabled,
-- replication_lag, slow_queries.  Params are validated when the check is added;
-- each kind runs here, on the regression instance, to an ok and a failing result.
-- (Behaviour that needs other sessions, a standby or pg_stat_statements preloaded
-- is in test/t/03x_*.pl.)  Numbers that depend on the instance are masked as N.
CREATE EXTENSION slo_guard;
CREATE FUNCTION pg_temp.masked(t text) RETURNS text LANGUAGE sql AS
$$ SELECT regexp_replace(regexp_replace(regexp_replace(t,
     'Database [^ ]+', 'Database D'), '[0-9.]+ (B|kB|MB|GB)\M', 'SIZE', 'g'),
     '[0-9]+(\.[0-9]+)?(e-?[0-9]+)?', 'N', 'g') $$;
CREATE FUNCTION pg_temp.run(c text) RETURNS TABLE (status text, summary text) LANGUAGE sql AS
$$ SELECT status, pg_temp.masked(summary) FROM slo_run_checks(false) WHERE check_name = c $$;

-- Params: ranges, types, warn <= fail (defaults included), unknown keys.
\set VERBOSITY default
SELECT slo_add_check('x', 'connections', '{"warn_pct": -1}');
SELECT slo_add_check('x', 'connections', '{"fail_pct": 101}');
SELECT slo_add_check('x', 'connections', '{"warn_pct": "80"}');
SELECT slo_add_check('x', 'connections', '{"warn_pct": 90, "fail_pct": 85}');
SELECT slo_add_check('x', 'connections', '{"warn_pct": 96}');
SELECT slo_add_check('x', 'connections', '{"fail_pct": 70}');
SELECT slo_add_check('x', 'connections', '{"max_pct": 70}');
SELECT slo_add_check('x', 'wraparound', '{"warn_pct": 60, "fail_pct": 55}');
SELECT slo_add_check('x', 'wraparound', '{"fail_pct": 40}');
SELECT slo_add_check('x', 'wraparound', '{"warn_pct": null}');
SELECT slo_add_check('x', 'long_transactions', '{"max_age": "0 seconds"}');
SELECT slo_add_check('x', 'long_transactions', '{"max_age": "-5 minutes"}');
SELECT slo_add_check('x', 'long_transactions', '{"max_age": "soon"}');
SELECT slo_add_check('x', 'long_transactions', '{"max_age": 300}');
SELECT slo_add_check('x', 'long_transactions', '{"include_idle": "yes"}');
SELECT slo_add_check('x', 'rls_disabled', '{"schemas": []}');
SELECT slo_add_check('x', 'rls_disabled', '{"schemas": "public"}');
SELECT slo_add_check('x', 'rls_disabled', '{"schemas": [""]}');
SELECT slo_add_check('x', 'replication_lag', '{"max_lag": "0"}');
SELECT slo_add_check('x', 'replication_lag', '{"slot_max_bytes": -1}');
SELECT slo_add_check('x', 'replication_lag', '{"slot_max_bytes": 1.5}');
SELECT slo_add_check('x', 'slow_queries', '{"max_mean_ms": -1}');
SELECT slo_add_check('x', 'slow_queries', '{"min_calls": 0}');
SELECT slo_add_check('x', 'slow_queries', '{"min_calls": 2.5}');
SELECT count(*) AS no_check_was_added FROM slo_check;

-- Defaults and valid params are accepted.
SELECT slo_add_check('conn', 'connections') > 0 AS added,
       slo_add_check('conn_strict', 'connections', '{"warn_pct": 0.5, "fail_pct": 1}') > 0 AS strict,
       slo_add_check('conn_warn', 'connections', '{"warn_pct": 0, "fail_pct": 100}') > 0 AS warn,
       slo_add_check('wrap', 'wraparound') > 0 AS wrap,
       -- a fresh instance has used far more than 3 transaction IDs (0.0000001 % of 2^31 is 2.1)
       slo_add_check('wrap_fail', 'wraparound', '{"warn_pct": 0, "fail_pct": 0.0000001}') > 0 AS wrap_fail,
       slo_add_check('wrap_warn', 'wraparound', '{"warn_pct": 0.0000001, "fail_pct": 100}') > 0 AS wrap_warn,
       slo_add_check('longtx', 'long_transactions', '{"max_age": "1 second"}') > 0 AS longtx,
       slo_add_check('lag', 'replication_lag', '{"max_lag": "1 second"}') > 0 AS lag,
       slo_add_check('lag_slot', 'replication_lag', '{"slot_max_bytes": 0}') > 0 AS lag_slot,
       slo_add_check('slow', 'slow_queries', '{"max_mean_ms": 20, "min_calls": 10}') > 0 AS slow;

-- connections: one client session (this one) of max_connections minus reserved.
SELECT * FROM pg_temp.run('conn');
SELECT * FROM pg_temp.run('conn_strict');
SELECT * FROM pg_temp.run('conn_warn');
-- value = percent used (within one transaction the activity snapshot is stable)
BEGIN;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'conn';
SELECT abs(value - 100.0 * (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend')
                   / (current_setting('max_connections')::int
                      - current_setting('superuser_reserved_connections')::int)) < 1e-9
         AS value_is_percent_used,
       detail->>'counted' AS counted, detail->'by_state' AS by_state,
       detail->'top_applications'->0->>'application_name' AS top_application
  FROM slo_result WHERE check_name = 'conn' ORDER BY id DESC LIMIT 1;
COMMIT;

-- wraparound: ok with the defaults; fail and warn with tiny thresholds.
SELECT * FROM pg_temp.run('wrap');
SELECT * FROM pg_temp.run('wrap_fail');
SELECT * FROM pg_temp.run('wrap_warn');
-- value = percent of 2^31 (ages are stable within one transaction)
BEGIN;
SELECT count(*) FROM slo_run_checks(false) WHERE check_name = 'wrap';
SELECT abs(value - (SELECT max(greatest(age(datfrozenxid), mxid_age(datminmxid))) FROM pg_database)
                   * 100.0 / 2147483648) < 1e-9 AS value_is_percent_of_2_31,
       (detail->'oldest_xid'->>'age')::int = (SELECT max(age(datfrozenxid)) FROM pg_database) AS oldest_age,
       detail->'oldest_xid'->>'database' IN (SELECT datname FROM pg_database) AS names_database
  FROM slo_result WHERE check_name = 'wrap' ORDER BY id DESC LIMIT 1;
COMMIT;

-- long_transactions: the checking session's own transaction never counts, however old.
BEGIN;
SELECT txid_current() > 0 AS has_xid;
SELECT pg_sleep(1.2);
SELECT * FROM pg_temp.run('longtx');
COMMIT;

-- replication_lag: no standby and no slot; then an inactive slot that retains WAL.
SELECT * FROM pg_temp.run('lag');
SELECT 1 FROM pg_create_physical_replication_slot('slo_health_slot', true);
CREATE TABLE wal_writer AS SELECT g FROM generate_series(1, 1000) g;
SELECT * FROM pg_temp.run('lag_slot');
SELECT * FROM pg_temp.run('lag');
SELECT detail->'inactive_slots'->0->>'slot' AS slot,
       (detail->'inactive_slots'->0->>'retained_bytes')::numeric > 0 AS retains_wal
  FROM slo_result WHERE check_name = 'lag_slot' ORDER BY id DESC LIMIT 1;
SELECT pg_drop_replication_slot('slo_health_slot');
SELECT * FROM pg_temp.run('lag_slot');
DROP TABLE wal_writer;

-- slow_queries: an error result that says how to install pg_stat_statements...
SELECT status, summary FROM slo_run_checks(false) WHERE check_name = 'slow';
-- ...and, created but not preloaded (as here), pg_stat_statements' own error.
CREATE EXTENSION pg_stat_statements;
SELECT status, summary FROM slo_run_checks(false) WHERE check_name = 'slow';
DROP EXTENSION pg_stat_statements;

-- rls_disabled: tables and partitioned tables, partitions included; extension
-- tables skipped; names up to five.
CREATE SCHEMA rls_app;
CREATE TABLE rls_app.profiles (id int);
SELECT slo_add_check('rls', 'rls_disabled', '{"schemas": ["rls_app"]}') > 0 AS added;
SELECT slo_add_check('rls_nowhere', 'rls_disabled', '{"schemas": ["not_created_yet"]}') > 0 AS added;
SELECT * FROM pg_temp.run('rls');
SELECT * FROM pg_temp.run('rls_nowhere');
ALTER TABLE rls_app.profiles ENABLE ROW LEVEL SECURITY;
SELECT * FROM pg_temp.run('rls');
CREATE TABLE rls_app.events (id int, at date) PARTITION BY RANGE (at);
CREATE TABLE rls_app.events_2024 PARTITION OF rls_app.events
  FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE rls_app."Mixed Case" (id int);
CREATE TABLE rls_app.a (id int);
CREATE TABLE rls_app.b (id int);
CREATE TABLE rls_app.c (id int);
CREATE VIEW rls_app.v AS SELECT 1 AS one;
SELECT status, summary, value FROM slo_run_checks(false) WHERE check_name = 'rls';
SELECT detail FROM slo_result WHERE check_name = 'rls' ORDER BY id DESC LIMIT 1;
ALTER TABLE rls_app.events ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_app.events_2024 ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_app."Mixed Case" ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_app.a ENABLE ROW LEVEL SECURITY;
ALTER TABLE rls_app.b ENABLE ROW LEVEL SECURITY;
SELECT status, summary, value FROM slo_run_checks(false) WHERE check_name = 'rls';
ALTER TABLE rls_app.c ENABLE ROW LEVEL SECURITY;
SELECT status, summary, value FROM slo_run_checks(false) WHERE check_name = 'rls';
-- an extension's tables are not the app's: slo_guard's own, in a listed schema
SELECT slo_add_check('rls_ext', 'rls_disabled', '{"schemas": ["public"]}') > 0 AS added;
SELECT status, summary ~ 'slo_' AS names_slo_tables,
       (detail->>'extension_tables_skipped')::int > 0 AS skipped_extension_tables
  FROM slo_run_checks(false) WHERE check_name = 'rls_ext';

-- Kinds that look at other sessions need pg_read_all_stats (as pg_monitor has):
-- without it they would see nothing to alert on, so they are an error instead.
CREATE ROLE slo_health_admin;
GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
      slo_run_checks(boolean) TO slo_health_admin;
SET ROLE slo_health_admin;
SELECT slo_add_check('conn_unpriv', 'connections') > 0 AS added,
       slo_add_check('longtx_unpriv', 'long_transactions') > 0 AS added,
       slo_add_check('lag_unpriv', 'replication_lag') > 0 AS added,
       slo_add_check('slow_unpriv', 'slow_queries') > 0 AS added,
       slo_add_check('wrap_unpriv', 'wraparound') > 0 AS added;
SELECT check_name, status, CASE WHEN status = 'error' THEN summary END AS error
  FROM slo_run_checks(false) WHERE check_name LIKE '%\_unpriv' ORDER BY check_name;
RESET ROLE;
GRANT pg_monitor TO slo_health_admin;
SET ROLE slo_health_admin;
SELECT check_name, status FROM slo_run_checks(false)
 WHERE check_name LIKE '%\_unpriv' ORDER BY check_name;
RESET ROLE;

-- Results never hold query text.
SELECT count(*) AS results_with_query_text FROM slo_result
 WHERE summary ~* 'select|pg_sleep' OR detail::text ~* 'select|pg_sleep';

DROP EXTENSION slo_guard;
DROP SCHEMA rls_app CASCADE;
DROP ROLE slo_health_admin;
