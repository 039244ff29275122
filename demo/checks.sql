-- The runbooks' checks, one slo_add_check() call each (scripts/demo.sh runs
-- this after CREATE EXTENSION slo_guard). The `every` values are short so the
-- demo moves quickly; a real deployment would use '1 minute' and up.

-- NestSync P0 "Database Health Failure": critical tables missing. A guard: a
-- migration that drops one pages at its COMMIT, not at the next run.
SELECT slo_add_check('nestsync_critical_tables', 'table_exists',
    '{"tables": ["users", "children", "consent_records"], "guard": true}',
    severity => 'P0', every => '1 second',
    labels => '{"app": "nestsync", "category": "db_health", "runbook": "db_health"}');

-- NestSync P0 migration state (`alembic current`): the schema is at the
-- revision the deployed code expects.
SELECT slo_add_check('nestsync_alembic_version', 'migration',
    '{"table": "alembic_version", "expect": "7c3e9a1f5b2d"}',
    severity => 'P0', every => '2 seconds',
    labels => '{"app": "nestsync", "category": "db_health", "runbook": "db_health"}');

-- NestSync P1 PIPEDA compliance: the consent columns on notification_preferences.
-- A blocking guard: a migration that drops one is refused (SQLSTATE SG001).
SELECT slo_add_check('nestsync_consent_columns', 'columns_exist',
    '{"table": "notification_preferences",
      "columns": ["notification_consent_granted", "marketing_consent_granted"],
      "guard": "block"}',
    severity => 'P1', every => '1 second',
    labels => '{"app": "nestsync", "category": "compliance", "runbook": "pipeda_compliance"}');

-- NestSync P1 data residency: the data region is a Canadian one.
SELECT slo_add_check('nestsync_data_region', 'setting',
    '{"name": "app.data_region", "allowed": ["canada-central", "canada-east"]}',
    severity => 'P1', every => '2 seconds',
    labels => '{"app": "nestsync", "category": "compliance", "runbook": "data_residency_compliance"}');

-- NestSync P1 "SELECT COUNT(*) FROM consent_records": consent is recorded at
-- all. Two failed runs in a row before it pages (fail_after => 2): the first
-- one leaves it pending.
SELECT slo_add_check('nestsync_consent_records', 'sql',
    '{"query": "SELECT count(*) FROM consent_records", "fail_below": 1}',
    severity => 'P1', every => '2 seconds', fail_after => 2,
    labels => '{"app": "nestsync", "category": "compliance", "runbook": "pipeda_compliance"}');

-- MachineMate: the tables whose growth it tracks are there.
SELECT slo_add_check('machinemate_tables', 'table_exists',
    '{"tables": ["machinemate.favorites", "machinemate.history", "machinemate.media_assets"]}',
    severity => 'P2', every => '5 seconds',
    labels => '{"app": "machinemate", "category": "storage"}');

-- MachineMate "Track favorites, history, and media_assets table growth to anticipate
-- storage limits": fail over 5 GB, warn when the size forecast reaches it within 14 days.
SELECT slo_add_check('machinemate_growth', 'table_growth',
    '{"tables": ["machinemate.favorites", "machinemate.history", "machinemate.media_assets"],
      "max_bytes": 5368709120, "warn_days_to_limit": 14}',
    severity => 'P2', every => '10 seconds',
    labels => '{"app": "machinemate", "category": "storage"}');

-- NestSync P2 "Early Warning Indicators": error rate > 20 % in recent checks, here as
-- the share of failed results of the critical-tables check over the last 5 minutes.
SELECT slo_add_check('nestsync_error_rate', 'window',
    '{"of": "nestsync_critical_tables", "window": "5 minutes", "fail_rate": true,
      "fail_above": 0.2}',
    severity => 'P2', every => '5 seconds',
    labels => '{"app": "nestsync", "category": "early_warning", "runbook": "error_rate_trends"}');

-- The server-health starter set: connections, wraparound, long transactions,
-- replication lag.
SELECT slo_add_standard_checks() AS standard_checks_added;
