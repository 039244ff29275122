-- slo_guard 1.0 -> 1.1 (ALTER EXTENSION slo_guard UPDATE).
-- Every schema change since 1.0 lands here as well as in sql/slo_guard.sql; the upgrade
-- test compares an upgraded 1.0 install with a fresh 1.1 install, catalog by catalog.
\echo Use "ALTER EXTENSION slo_guard UPDATE" to load this file. \quit

-- ---------------------------------------------------------------------------
-- Issue 10: owners by role name, pg_dump/pg_restore, bounded alert history.

-- Owners are kept by role name: owner is a regrole (pg_dump writes the role's name,
-- and a restore into another cluster maps it by name), and owner_name records the
-- name the owner had when it was recorded. A check whose owner was dropped before
-- this upgrade gets a name no role can have (longer than NAMEDATALEN), so it keeps
-- recording an error until a superuser alters or drops it.
ALTER TABLE slo_check ALTER COLUMN owner TYPE regrole;
ALTER TABLE slo_check ADD COLUMN owner_name text;
UPDATE slo_check c
   SET owner_name = coalesce((SELECT r.rolname::text FROM pg_catalog.pg_roles r WHERE r.oid = c.owner),
                             'dropped role with OID ' || c.owner::oid::text
                             || ' (its checks were kept by the upgrade to slo_guard 1.1 but never run)');
ALTER TABLE slo_check ALTER COLUMN owner_name SET NOT NULL;

-- The worker trims resolved alerts older than slo_guard.alert_retention through this.
CREATE INDEX slo_alert_resolved_at_idx ON slo_alert (resolved_at) WHERE state = 'resolved';

-- The identity sequences' positions are dumped too, so ids go on after a restore.
SELECT pg_catalog.pg_extension_config_dump('slo_check_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('slo_result_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('slo_alert_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('slo_alert_event_id_seq', '');

-- slo_table_size is no longer dumped (its rows are tied to relation OIDs): taking
-- the table out of the extension and back in drops its pg_extension_config_dump mark.
ALTER EXTENSION slo_guard DROP TABLE slo_table_size;
ALTER EXTENSION slo_guard ADD TABLE slo_table_size;

-- A comment on every column a user reads.
COMMENT ON COLUMN slo_check.id IS 'check id (slo_add_check returns it)';
COMMENT ON COLUMN slo_check.name IS 'unique check name, as passed to slo_add_check';
COMMENT ON COLUMN slo_check.kind IS 'check kind (see slo_kinds())';
COMMENT ON COLUMN slo_check.params IS 'the kind''s parameters, validated when the check was added or altered';
COMMENT ON COLUMN slo_check.severity IS 'P0 (most urgent) to P3, carried into every alert';
COMMENT ON COLUMN slo_check.every IS 'how often the check runs (1 second to 1 year)';
COMMENT ON COLUMN slo_check.fail_after IS 'failed (fail or error) results in a row that open an alert';
COMMENT ON COLUMN slo_check.labels IS 'free key/values carried into every alert and NOTIFY payload';
COMMENT ON COLUMN slo_check.enabled IS 'false: the check does not run (disabling a firing check resolves its alert)';
COMMENT ON COLUMN slo_check.owner IS
  'role that added (or last changed the definition of) the check; the check runs as this role. Only this role, its members and superusers may alter or drop the check';
COMMENT ON COLUMN slo_check.created_at IS 'when the check was added';
COMMENT ON COLUMN slo_check.updated_at IS 'when the check was last altered';
COMMENT ON COLUMN slo_check.owner_name IS
  'name of the owner role when it was recorded; a check whose owner role was dropped (or whose OID now names another role) records an error and never runs';

COMMENT ON COLUMN slo_check_state.check_id IS 'the check (slo_check.id)';
COMMENT ON COLUMN slo_check_state.status IS 'status of the last result: ok, warn, fail or error; NULL before the first run';
COMMENT ON COLUMN slo_check_state.value IS 'value of the last result, if the kind gives one';
COMMENT ON COLUMN slo_check_state.summary IS 'summary sentence of the last result';
COMMENT ON COLUMN slo_check_state.since IS 'when the check entered its current status';
COMMENT ON COLUMN slo_check_state.last_run IS 'when the check last ran';
COMMENT ON COLUMN slo_check_state.next_run IS 'when the check is due next';
COMMENT ON COLUMN slo_check_state.fail_streak IS 'failed (fail or error) results in a row so far';
COMMENT ON COLUMN slo_check_state.first_fail_at IS 'first result of the current failure streak';
COMMENT ON COLUMN slo_check_state.alert_id IS 'the open (firing) alert of the check, if any (slo_alert.id)';

COMMENT ON COLUMN slo_result.id IS 'result id';
COMMENT ON COLUMN slo_result.check_id IS 'the check (slo_check.id; no foreign key, slo_drop_check deletes its results)';
COMMENT ON COLUMN slo_result.check_name IS 'name of the check when it ran';
COMMENT ON COLUMN slo_result.at IS 'when the run started';
COMMENT ON COLUMN slo_result.status IS 'ok, warn, fail, or error (the check itself could not run)';
COMMENT ON COLUMN slo_result.value IS 'the number the check measured, where one makes sense';
COMMENT ON COLUMN slo_result.summary IS 'one sentence saying what was found';
COMMENT ON COLUMN slo_result.detail IS 'kind-specific JSON detail (names and counts, never user row content)';
COMMENT ON COLUMN slo_result.duration_ms IS 'how long the run took, in milliseconds';

COMMENT ON COLUMN slo_alert.id IS 'alert id (alert_id in NOTIFY payloads)';
COMMENT ON COLUMN slo_alert.check_id IS 'the check (slo_check.id); the alert goes with the check when it is dropped';
COMMENT ON COLUMN slo_alert.check_name IS 'name of the check when the alert opened';
COMMENT ON COLUMN slo_alert.severity IS 'severity of the check when the alert opened';
COMMENT ON COLUMN slo_alert.state IS 'firing (open) or resolved';
COMMENT ON COLUMN slo_alert.detected_at IS 'first failed result of the streak that opened the alert';
COMMENT ON COLUMN slo_alert.fired_at IS 'when the alert opened (the fail_after-th failed result)';
COMMENT ON COLUMN slo_alert.acknowledged_at IS 'when the alert was acknowledged (reserved for slo_ack)';
COMMENT ON COLUMN slo_alert.acknowledged_by IS 'role that acknowledged the alert (reserved for slo_ack)';
COMMENT ON COLUMN slo_alert.ack_note IS 'note given with the acknowledgement (reserved for slo_ack)';
COMMENT ON COLUMN slo_alert.escalated_at IS 'when the alert was escalated (reserved for escalation)';
COMMENT ON COLUMN slo_alert.resolved_at IS 'when the alert resolved (an ok or warn result, or the check disabled or dropped); resolved alerts older than slo_guard.alert_retention are trimmed';
COMMENT ON COLUMN slo_alert.status IS 'status of the latest result that changed the alert';
COMMENT ON COLUMN slo_alert.value IS 'value of the latest result that changed the alert';
COMMENT ON COLUMN slo_alert.summary IS 'summary of the latest result that changed the alert, or why it was resolved';

COMMENT ON COLUMN slo_alert_event.id IS 'event id';
COMMENT ON COLUMN slo_alert_event.alert_id IS 'the alert (slo_alert.id); trimmed with it';
COMMENT ON COLUMN slo_alert_event.event IS 'firing, resolved, acknowledged or escalated';
COMMENT ON COLUMN slo_alert_event.at IS 'when the transition happened';
COMMENT ON COLUMN slo_alert_event.status IS 'status of the result that caused the transition';
COMMENT ON COLUMN slo_alert_event.value IS 'value of the result that caused the transition';
COMMENT ON COLUMN slo_alert_event.summary IS 'summary of the result that caused the transition, or why the alert was resolved';
COMMENT ON COLUMN slo_alert_event.notified IS 'whether a NOTIFY was sent for the event';
COMMENT ON COLUMN slo_alert_event.payload IS 'the NOTIFY payload (JSON) as sent';

COMMENT ON COLUMN slo_table_size.check_id IS 'the table_growth check that took the sample (slo_check.id)';
COMMENT ON COLUMN slo_table_size.at IS 'when the sample was taken';
COMMENT ON COLUMN slo_table_size.bytes IS 'total size of the table (pg_total_relation_size)';
COMMENT ON COLUMN slo_table_size.row_estimate IS 'estimated number of rows (reltuples)';
