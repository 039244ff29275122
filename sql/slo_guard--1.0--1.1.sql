-- slo_guard 1.0 -> 1.1 (ALTER EXTENSION slo_guard UPDATE).
-- Every schema change since 1.0 lands here as well as in sql/slo_guard.sql; the upgrade
-- test compares an upgraded 1.0 install with a fresh 1.1 install, catalog by catalog.
\echo Use "ALTER EXTENSION slo_guard UPDATE" to load this file. \quit

-- ==== privileges (issue 16): what existed before this upgrade; keep this section FIRST ====
-- The last section of this script revokes what default privileges gave to the objects
-- this upgrade creates, and on the objects that existed before only what came with the
-- install or from default privileges (never a DBA's later grants). It needs the members
-- as they were before any change below, with their initial privileges from
-- pg_init_privs (a GRANT or REVOKE below rewrites those), kept for this transaction only.
SELECT pg_catalog.set_config('slo_guard_upgrade.members', coalesce(
    (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
                'c', d.classid::pg_catalog.oid, 'o', d.objid,
                'i', coalesce(
                    (SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_array(x.grantee, x.privilege_type))
                       FROM pg_catalog.pg_init_privs ip, pg_catalog.aclexplode(ip.initprivs) x
                      WHERE ip.classoid = d.classid AND ip.objoid = d.objid
                        AND ip.objsubid = 0 AND ip.privtype = 'e'),
                    '[]')))
       FROM pg_catalog.pg_depend d
      WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
        AND d.refobjid = (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'slo_guard')
        AND d.deptype = 'e'),
    '[]')::text, true);

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

-- ---------------------------------------------------------------------------
-- Direct writes cannot pick an owner (issue 16). A check runs as slo_check.owner, so a
-- row written into slo_check some other way than slo_add_check()/slo_alter_check()
-- (by a role someone granted INSERT or UPDATE on the table, as Supabase's default
-- privileges used to) must not name a role its writer could not act as. The API writes
-- as the extension owner, a superuser, and passes; so does a restore by a superuser. A
-- superuser who writes a row naming another role is within their rights (they could
-- SET ROLE to it). Not SECURITY DEFINER: current_user is the writer. Fires only when
-- what runs (kind, params, search_path) or as whom (owner) is written: passes never
-- write slo_check, and changing severity, schedule, labels or enabled runs nothing new.
-- NEW.owner::oid: the trigger works whether owner is oid (1.0) or regrole.
CREATE FUNCTION slo_check_owner_guard()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    owner_oid  oid := NEW.owner::oid;
    owner_name text;
BEGIN
    IF owner_oid IS NULL THEN
        RETURN NEW;     -- the NOT NULL constraint refuses the row
    END IF;
    IF TG_OP = 'UPDATE' AND owner_oid = OLD.owner::oid
       AND NEW.kind IS NOT DISTINCT FROM OLD.kind
       AND NEW.params IS NOT DISTINCT FROM OLD.params
       AND NEW.search_path IS NOT DISTINCT FROM OLD.search_path THEN
        RETURN NEW;     -- same code, same role: nothing new runs
    END IF;
    SELECT r.rolname INTO owner_name FROM pg_catalog.pg_roles r WHERE r.oid = owner_oid;
    IF owner_name IS NULL AND pg_catalog.pg_has_role(current_user,
                                   (SELECT c.relowner FROM pg_catalog.pg_class c
                                     WHERE c.oid = TG_RELID), 'MEMBER') THEN
        -- a restore of a check whose owner was dropped: kept, and it records an error
        -- (its owner_name names no role) instead of running
        RETURN NEW;
    END IF;
    IF owner_name IS NULL THEN
        RAISE EXCEPTION 'role with OID % does not exist', owner_oid
            USING ERRCODE = 'undefined_object',
                  DETAIL = format('Check "%s" names it as its owner, the role it runs as.', NEW.name),
                  HINT = 'Add checks with slo_add_check(): the check then runs as the role that calls it.';
    END IF;
    -- A member of the owner could add the check as that role anyway; a member of the
    -- table's owner could disable this trigger.
    IF NOT pg_catalog.pg_has_role(current_user, owner_oid, 'MEMBER')
       AND NOT pg_catalog.pg_has_role(current_user,
                                      (SELECT c.relowner FROM pg_catalog.pg_class c
                                        WHERE c.oid = TG_RELID), 'MEMBER') THEN
        RAISE EXCEPTION 'permission denied to make role "%" the owner of check "%"',
                        owner_name, NEW.name
            USING ERRCODE = 'insufficient_privilege',
                  DETAIL = format('A check runs as its owner, and role "%s" is not a member of role "%s".',
                                  current_user, owner_name),
                  HINT = 'Add checks with slo_add_check() and change them with slo_alter_check(): the check then runs as the role that calls them.';
    END IF;
    -- the name the owner has now, unless the writer recorded one (slo_add_check, a restore)
    IF NEW.owner_name IS NULL OR (TG_OP = 'UPDATE' AND owner_oid <> OLD.owner::oid
                                  AND NEW.owner_name IS NOT DISTINCT FROM OLD.owner_name) THEN
        NEW.owner_name := owner_name;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION slo_check_owner_guard() IS
  'slo_guard: trigger function refusing a slo_check row whose writer is not a member of its owner (the role the check runs as)';
REVOKE ALL ON FUNCTION slo_check_owner_guard() FROM PUBLIC;

-- Keep this after any change to the type of slo_check.owner above: PostgreSQL cannot alter
-- the type of a column named in a trigger's UPDATE OF list.
CREATE TRIGGER slo_check_owner_guard
    BEFORE INSERT OR UPDATE OF owner, kind, params, search_path ON slo_check
    FOR EACH ROW EXECUTE FUNCTION slo_check_owner_guard();
COMMENT ON TRIGGER slo_check_owner_guard ON slo_check IS
  'slo_guard: a check''s owner is only ever a role its writer is a member of (slo_add_check and slo_alter_check write as the extension owner)';

-- ---------------------------------------------------------------------------
-- Issue 14: guards. A table_exists, columns_exist or function_exists check with
-- "guard": true (or "block") is re-run by the event triggers below, inside the
-- transaction of the DDL that touched what it watches.

-- The index the event triggers look up (never a scan of every check per DDL command):
-- one row per watched name of each guarded check, plus one per object that name
-- resolved to when the check was added, changed or last re-run by a guard. A DROP or
-- CREATE matches by name, a rename or ALTER TABLE ... DROP COLUMN by the object's OID
-- (the old name is gone by then), ALTER SCHEMA ... RENAME by the schema's OID.
-- Derived from slo_check (the trigger slo_check_guard_watch keeps it), so not dumped:
-- a restore rebuilds it as the checks are restored.
CREATE TABLE slo_guard_watch (
    check_id bigint NOT NULL REFERENCES slo_check (id) ON DELETE CASCADE,
    objname  text NOT NULL,
    objid    oid,
    nspid    oid
);
CREATE INDEX slo_guard_watch_check_idx ON slo_guard_watch (check_id);
CREATE INDEX slo_guard_watch_objname_idx ON slo_guard_watch (objname);
CREATE INDEX slo_guard_watch_objid_idx ON slo_guard_watch (objid) WHERE objid IS NOT NULL;
CREATE INDEX slo_guard_watch_nspid_idx ON slo_guard_watch (nspid) WHERE nspid IS NOT NULL;
COMMENT ON TABLE slo_guard_watch IS
  'slo_guard: what each guarded check watches, looked up by the DDL event triggers (kept by slo_check_guard_watch)';
COMMENT ON COLUMN slo_guard_watch.check_id IS 'the guarded check';
COMMENT ON COLUMN slo_guard_watch.objname IS 'a watched table or function name (last part, as stored)';
COMMENT ON COLUMN slo_guard_watch.objid IS 'the relation or function that name resolved to at the last sync (NULL: none)';
COMMENT ON COLUMN slo_guard_watch.nspid IS 'the schema of that relation or function';

CREATE FUNCTION slo_guard_watch_sync()
RETURNS trigger
AS 'MODULE_PATHNAME', 'slo_guard_watch_sync'
LANGUAGE C;
COMMENT ON FUNCTION slo_guard_watch_sync() IS
  'slo_guard: trigger function keeping slo_guard_watch in step with a check''s kind, params and search_path';

CREATE TRIGGER slo_check_guard_watch
    AFTER INSERT OR UPDATE OF kind, params, search_path ON slo_check
    FOR EACH ROW EXECUTE FUNCTION slo_guard_watch_sync();
COMMENT ON TRIGGER slo_check_guard_watch ON slo_check IS
  'slo_guard: keeps slo_guard_watch (what guarded checks watch) in step with slo_check';

-- Fires for every role's DDL; it skips slo_guard's own install and upgrade scripts and
-- DROP EXTENSION slo_guard, and re-runs the matched checks as their owners.
CREATE FUNCTION slo_guard_ddl()
RETURNS event_trigger
AS 'MODULE_PATHNAME', 'slo_guard_ddl'
LANGUAGE C;
COMMENT ON FUNCTION slo_guard_ddl() IS
  'slo_guard: event trigger function re-running the guarded checks a DDL command touched';

CREATE EVENT TRIGGER slo_guard_ddl_end ON ddl_command_end EXECUTE FUNCTION slo_guard_ddl();
COMMENT ON EVENT TRIGGER slo_guard_ddl_end IS
  'slo_guard: re-runs guarded checks whose watched objects a command created, renamed or altered';
CREATE EVENT TRIGGER slo_guard_sql_drop ON sql_drop EXECUTE FUNCTION slo_guard_ddl();
COMMENT ON EVENT TRIGGER slo_guard_sql_drop IS
  'slo_guard: re-runs guarded checks whose watched objects a command dropped';

-- ---------------------------------------------------------------------------
-- Objectives (SLOs), exact rollups, burn-rate alerts, the budget gate and
-- Prometheus metrics (issue 13).

-- One row per objective. Its burn-rate alert is the alert of an internal check
-- (kind "objective", name "objective:<name>", alert_check_id) that the objective
-- owns: created and dropped with it, not alterable with slo_alter_check.
CREATE TABLE slo_objective (
    id             bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    name           text NOT NULL UNIQUE,
    check_id       bigint NOT NULL REFERENCES slo_check (id),
    alert_check_id bigint NOT NULL UNIQUE REFERENCES slo_check (id) ON DELETE CASCADE,
    target         float8 NOT NULL CHECK (target > 0 AND target < 1),
    period         interval NOT NULL,
    good_below     float8,
    min_events     integer NOT NULL DEFAULT 10 CHECK (min_events >= 1),
    owner          regrole NOT NULL,
    owner_name     text NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX slo_objective_check_idx ON slo_objective (check_id);
COMMENT ON TABLE slo_objective IS
  'slo_guard: one row per objective (SLO); change it with slo_add_objective/slo_alter_objective/slo_drop_objective';
COMMENT ON COLUMN slo_objective.id IS 'objective id (slo_add_objective returns it)';
COMMENT ON COLUMN slo_objective.name IS 'unique objective name; its burn-rate alert is named objective:<name>';
COMMENT ON COLUMN slo_objective.check_id IS 'the check whose results are measured (slo_check.id); it cannot be dropped while the objective exists';
COMMENT ON COLUMN slo_objective.alert_check_id IS 'the internal check (kind objective, name objective:<name>) that evaluates the burn rates and carries the alert';
COMMENT ON COLUMN slo_objective.target IS 'share of good results required, strictly between 0 and 1 (0.999 = 99.9 %)';
COMMENT ON COLUMN slo_objective.period IS '1 month = the current calendar month (UTC); otherwise a rolling period of 1 hour to 90 days';
COMMENT ON COLUMN slo_objective.good_below IS 'if set, a good result also has a value at or under this number';
COMMENT ON COLUMN slo_objective.min_events IS 'results a burn-rate rule''s long window needs before it may page (low traffic pages nobody)';
COMMENT ON COLUMN slo_objective.owner IS 'role that added the objective; only it, its members and superusers may alter or drop it';
COMMENT ON COLUMN slo_objective.owner_name IS 'name of the owner role when it was recorded';
COMMENT ON COLUMN slo_objective.created_at IS 'when the objective was added';
COMMENT ON COLUMN slo_objective.updated_at IS 'when the objective was last altered';

-- Exact counts per UTC minute and per UTC hour, written in the transaction of each
-- result (stored or not: keep_ok_results and result_retention do not touch them). A
-- window reads the minutes up to the first whole hour and whole hours after that: at
-- most 60 + 24 * days rows. Trimmed by the objective's evaluation beyond its period
-- (and at least 3 days, the longest burn-rate window).
CREATE TABLE slo_objective_minute (
    objective_id bigint NOT NULL REFERENCES slo_objective (id) ON DELETE CASCADE,
    minute       timestamptz NOT NULL,
    good         bigint NOT NULL,
    total        bigint NOT NULL,
    PRIMARY KEY (objective_id, minute)
) WITH (fillfactor = 70);
COMMENT ON TABLE slo_objective_minute IS
  'slo_guard: good and total results of each objective per UTC minute (exact rollup)';
COMMENT ON COLUMN slo_objective_minute.objective_id IS 'the objective (slo_objective.id)';
COMMENT ON COLUMN slo_objective_minute.minute IS 'start of the UTC minute';
COMMENT ON COLUMN slo_objective_minute.good IS 'good results in that minute';
COMMENT ON COLUMN slo_objective_minute.total IS 'all results in that minute';

CREATE TABLE slo_objective_hour (
    objective_id bigint NOT NULL REFERENCES slo_objective (id) ON DELETE CASCADE,
    hour         timestamptz NOT NULL,
    good         bigint NOT NULL,
    total        bigint NOT NULL,
    PRIMARY KEY (objective_id, hour)
) WITH (fillfactor = 70);
COMMENT ON TABLE slo_objective_hour IS
  'slo_guard: good and total results of each objective per UTC hour (the sums of its minutes)';
COMMENT ON COLUMN slo_objective_hour.objective_id IS 'the objective (slo_objective.id)';
COMMENT ON COLUMN slo_objective_hour.hour IS 'start of the UTC hour';
COMMENT ON COLUMN slo_objective_hour.good IS 'good results in that hour';
COMMENT ON COLUMN slo_objective_hour.total IS 'all results in that hour';

SELECT pg_catalog.pg_extension_config_dump('slo_objective', '');
SELECT pg_catalog.pg_extension_config_dump('slo_objective_id_seq', '');
SELECT pg_catalog.pg_extension_config_dump('slo_objective_minute', '');
SELECT pg_catalog.pg_extension_config_dump('slo_objective_hour', '');

-- Good and total results of an objective since a time: minutes from the minute that
-- holds "since" up to the next whole hour, then whole hours (exact, <= 60 + hours rows).
CREATE FUNCTION slo_objective_counts(objective_id bigint, since timestamptz,
                                     OUT good bigint, OUT total bigint)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    WITH b AS (
        SELECT pg_catalog.to_timestamp(pg_catalog.floor(EXTRACT(epoch FROM $2) / 60) * 60) AS m0,
               pg_catalog.to_timestamp(pg_catalog.ceil(EXTRACT(epoch FROM $2) / 3600) * 3600) AS h0
    )
    SELECT coalesce(sum(x.good), 0)::bigint, coalesce(sum(x.total), 0)::bigint
      FROM (SELECT m.good, m.total FROM @extschema@.slo_objective_minute m, b
             WHERE m.objective_id = $1 AND m.minute >= b.m0 AND m.minute < b.h0
            UNION ALL
            SELECT h.good, h.total FROM @extschema@.slo_objective_hour h, b
             WHERE h.objective_id = $1 AND h.hour >= b.h0) x
$$;
COMMENT ON FUNCTION slo_objective_counts(bigint, timestamptz) IS
  'slo_guard (internal): good and total results of an objective since a time, from its rollups';
REVOKE ALL ON FUNCTION slo_objective_counts(bigint, timestamptz) FROM PUBLIC;

-- Every figure of one objective now: the period's counts, budget, burn rates with the
-- number of results in each window, and the severity the multiwindow rule pages with
-- (NULL: none). Burn rate over a window = (bad / total in the window) / (1 - target).
CREATE FUNCTION slo_objective_eval(objective_id bigint,
                                   OUT good bigint, OUT total bigint, OUT achieved float8,
                                   OUT budget_left float8,
                                   OUT burn_5m float8, OUT burn_30m float8, OUT burn_1h float8,
                                   OUT burn_6h float8, OUT burn_3d float8,
                                   OUT n_5m bigint, OUT n_30m bigint, OUT n_1h bigint,
                                   OUT n_6h bigint, OUT n_3d bigint, OUT page text)
RETURNS record
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT p.good, p.total,
           p.good::float8 / nullif(p.total, 0),
           CASE WHEN p.total > 0
                THEN 1 - ((p.total - p.good)::float8 / p.total) / (1 - o.target) ELSE 1 END,
           (w5.total - w5.good)::float8 / nullif(w5.total, 0) / (1 - o.target),
           (w30.total - w30.good)::float8 / nullif(w30.total, 0) / (1 - o.target),
           (w1h.total - w1h.good)::float8 / nullif(w1h.total, 0) / (1 - o.target),
           (w6h.total - w6h.good)::float8 / nullif(w6h.total, 0) / (1 - o.target),
           (w3d.total - w3d.good)::float8 / nullif(w3d.total, 0) / (1 - o.target),
           w5.total, w30.total, w1h.total, w6h.total, w3d.total,
           CASE WHEN w1h.total >= o.min_events
                     AND (w1h.total - w1h.good) >= 14.4 * (1 - o.target) * w1h.total
                     AND w5.total > 0 AND (w5.total - w5.good) >= 14.4 * (1 - o.target) * w5.total
                THEN 'P1'
                WHEN w6h.total >= o.min_events
                     AND (w6h.total - w6h.good) >= 6 * (1 - o.target) * w6h.total
                     AND w30.total > 0 AND (w30.total - w30.good) >= 6 * (1 - o.target) * w30.total
                THEN 'P2'
                WHEN w3d.total >= o.min_events
                     AND (w3d.total - w3d.good) >= 1 * (1 - o.target) * w3d.total
                     AND w6h.total > 0 AND (w6h.total - w6h.good) >= 1 * (1 - o.target) * w6h.total
                THEN 'P3' END
      FROM @extschema@.slo_objective o,
           @extschema@.slo_objective_counts(o.id,
               -- months, not '=' (which holds '30 days' = '1 month'): the calendar month
               CASE WHEN EXTRACT(year FROM o.period) * 12 + EXTRACT(month FROM o.period) > 0
                    THEN pg_catalog.date_trunc('month', pg_catalog.now(), 'UTC')
                    ELSE pg_catalog.now() - o.period END) p,
           @extschema@.slo_objective_counts(o.id, pg_catalog.now() - interval '5 minutes') w5,
           @extschema@.slo_objective_counts(o.id, pg_catalog.now() - interval '30 minutes') w30,
           @extschema@.slo_objective_counts(o.id, pg_catalog.now() - interval '1 hour') w1h,
           @extschema@.slo_objective_counts(o.id, pg_catalog.now() - interval '6 hours') w6h,
           @extschema@.slo_objective_counts(o.id, pg_catalog.now() - interval '3 days') w3d
     WHERE o.id = $1
$$;
COMMENT ON FUNCTION slo_objective_eval(bigint) IS
  'slo_guard (internal): achieved ratio, budget left, burn rates and the multiwindow page severity of one objective';
REVOKE ALL ON FUNCTION slo_objective_eval(bigint) FROM PUBLIC;

CREATE FUNCTION slo_add_objective(name text, check_name text, target float8,
                                  period interval DEFAULT '30 days',
                                  good_below float8 DEFAULT NULL,
                                  min_events integer DEFAULT 10)
RETURNS bigint
AS 'MODULE_PATHNAME', 'slo_add_objective'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION slo_add_objective(text, text, float8, interval, float8, integer) IS
  'slo_guard: add an objective over a check''s results (with its burn-rate alert objective:<name>); returns its id';

CREATE FUNCTION slo_alter_objective(name text, target float8 DEFAULT NULL,
                                    period interval DEFAULT NULL,
                                    good_below float8 DEFAULT NULL,
                                    min_events integer DEFAULT NULL,
                                    clear_good_below boolean DEFAULT false)
RETURNS bigint
AS 'MODULE_PATHNAME', 'slo_alter_objective'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION slo_alter_objective(text, float8, interval, float8, integer, boolean) IS
  'slo_guard: change an objective; arguments left NULL keep their value (clear_good_below => true removes good_below). Returns its id.';

CREATE FUNCTION slo_drop_objective(name text, if_exists boolean DEFAULT false)
RETURNS boolean
AS 'MODULE_PATHNAME', 'slo_drop_objective'
LANGUAGE C VOLATILE;
COMMENT ON FUNCTION slo_drop_objective(text, boolean) IS
  'slo_guard: remove an objective with its rollups and its burn-rate alert; returns false only with if_exists and no such objective';

CREATE FUNCTION slo_objective_status()
RETURNS TABLE (name text, check_name text, target float8, period interval, good bigint,
               total bigint, achieved float8, budget_left float8, burn_5m float8,
               burn_30m float8, burn_1h float8, burn_6h float8, burn_3d float8, state text)
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT o.name, c.name, o.target, o.period, e.good, e.total, e.achieved, e.budget_left,
           e.burn_5m, e.burn_30m, e.burn_1h, e.burn_6h, e.burn_3d,
           CASE WHEN a.id IS NOT NULL THEN 'firing'
                WHEN e.total = 0 THEN 'no_data'
                WHEN e.budget_left <= 0 THEN 'exhausted'
                ELSE 'ok' END
      FROM @extschema@.slo_objective o
      JOIN @extschema@.slo_check c ON c.id = o.check_id
      CROSS JOIN LATERAL @extschema@.slo_objective_eval(o.id) e
      LEFT JOIN @extschema@.slo_alert a ON a.check_id = o.alert_check_id AND a.state = 'firing'
     ORDER BY o.name
$$;
COMMENT ON FUNCTION slo_objective_status() IS
  'slo_guard: one row per objective: counts over its period, achieved ratio, budget left (share; negative when overspent), burn rates over 5 min to 3 days, state (ok, firing, exhausted, no_data)';

-- The budget gate for deploy pipelines.
CREATE FUNCTION slo_require_budget(objective text, min_left float8 DEFAULT 0)
RETURNS float8
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    budget float8;
BEGIN
    IF objective IS NULL THEN
        RAISE EXCEPTION 'argument "objective" must not be null' USING ERRCODE = 'null_value_not_allowed';
    END IF;
    IF min_left IS NULL OR min_left = 'NaN'::float8 OR min_left > 1 THEN
        RAISE EXCEPTION 'invalid value for "min_left": %', coalesce(min_left::text, 'NULL')
            USING ERRCODE = 'invalid_parameter_value',
                  HINT = 'min_left is the share of the error budget that must be left, at most 1 (0.25 = a quarter).';
    END IF;
    SELECT e.budget_left INTO budget
      FROM @extschema@.slo_objective o, @extschema@.slo_objective_eval(o.id) e
     WHERE o.name = objective;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'objective "%" does not exist', objective
            USING ERRCODE = 'undefined_object',
                  HINT = 'slo_objective_status() lists the objectives.';
    END IF;
    IF budget < min_left THEN
        RAISE EXCEPTION 'error budget of objective "%" is below the minimum: % left, % required',
                        objective, pg_catalog.round(budget::numeric, 4), min_left
            USING ERRCODE = 'object_not_in_prerequisite_state',
                  DETAIL = 'The budget left is the share of the objective''s allowed failures not used yet in its period (negative when overspent).',
                  HINT = 'Wait until the objective recovers budget, or pass a lower min_left.';
    END IF;
    RETURN budget;
END
$$;
COMMENT ON FUNCTION slo_require_budget(text, float8) IS
  'slo_guard: the error budget left of an objective, or an error (55000) naming it when less than min_left is left: a gate for deploy pipelines';

-- Prometheus text format 0.0.4. Label values escape backslash, double quote and newline.
CREATE FUNCTION slo_metrics_label(v text)
RETURNS text
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
    SELECT pg_catalog.replace(pg_catalog.replace(pg_catalog.replace(coalesce($1, ''),
               E'\\', E'\\\\'), '"', E'\\"'), E'\n', E'\\n')
$$;
COMMENT ON FUNCTION slo_metrics_label(text) IS
  'slo_guard (internal): a Prometheus label value, escaped';
REVOKE ALL ON FUNCTION slo_metrics_label(text) FROM PUBLIC;

CREATE FUNCTION slo_metrics()
RETURNS text
LANGUAGE sql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
WITH st AS MATERIALIZED (
    SELECT c.name,
           'check="' || @extschema@.slo_metrics_label(c.name) || '"' AS l,
           @extschema@.slo_metrics_label(c.kind) AS k, c.severity,
           CASE WHEN NOT c.enabled THEN 'disabled'
                WHEN a.id IS NOT NULL THEN 'firing'
                WHEN s.status IS NULL THEN 'unknown'
                WHEN s.fail_streak > 0 THEN 'pending'
                ELSE s.status END AS state,
           s.status, s.value, s.last_run,
           (SELECT r.duration_ms FROM @extschema@.slo_result r
             WHERE r.check_id = c.id ORDER BY r.at DESC LIMIT 1) AS duration_ms
      FROM @extschema@.slo_check c
      JOIN @extschema@.slo_check_state s ON s.check_id = c.id
      LEFT JOIN @extschema@.slo_alert a ON a.id = s.alert_id AND a.state = 'firing'
), al AS MATERIALIZED (
    SELECT a.id, a.check_name, a.severity FROM @extschema@.slo_alert a WHERE a.state = 'firing'
), ob AS MATERIALIZED (
    SELECT o.name, o.target,
           'objective="' || @extschema@.slo_metrics_label(o.name) || '",check="'
               || @extschema@.slo_metrics_label(c.name) || '"' AS l, e.*
      FROM @extschema@.slo_objective o
      JOIN @extschema@.slo_check c ON c.id = o.check_id
      CROSS JOIN LATERAL @extschema@.slo_objective_eval(o.id) e
), lines(fam, key, line) AS (
    VALUES (1, NULL, '# HELP slo_guard_check_state Current state of each check: 1 for its state (ok, warn, pending, firing, disabled, unknown).' || E'\n'
                   || '# TYPE slo_guard_check_state gauge'),
           (2, NULL, '# HELP slo_guard_check_status Status of the last result of each check: 1 for it (ok, warn, fail, error).' || E'\n'
                   || '# TYPE slo_guard_check_status gauge'),
           (3, NULL, '# HELP slo_guard_check_value Value of the last result of each check, where the kind gives one.' || E'\n'
                   || '# TYPE slo_guard_check_value gauge'),
           (4, NULL, '# HELP slo_guard_check_duration_seconds How long the latest stored run of each check took.' || E'\n'
                   || '# TYPE slo_guard_check_duration_seconds gauge'),
           (5, NULL, '# HELP slo_guard_check_last_run_timestamp_seconds When each check last ran (Unix time).' || E'\n'
                   || '# TYPE slo_guard_check_last_run_timestamp_seconds gauge'),
           (6, NULL, '# HELP slo_guard_alert_firing Open (firing) alerts: 1 per alert, with its current severity.' || E'\n'
                   || '# TYPE slo_guard_alert_firing gauge'),
           (7, NULL, '# HELP slo_guard_alerts_firing Number of open (firing) alerts per severity.' || E'\n'
                   || '# TYPE slo_guard_alerts_firing gauge'),
           (8, NULL, '# HELP slo_guard_objective_target_ratio Target of each objective (share of good results).' || E'\n'
                   || '# TYPE slo_guard_objective_target_ratio gauge'),
           (9, NULL, '# HELP slo_guard_objective_achieved_ratio Share of good results of each objective over its period.' || E'\n'
                   || '# TYPE slo_guard_objective_achieved_ratio gauge'),
           (10, NULL, '# HELP slo_guard_objective_budget_left_ratio Share of the error budget left over the period (negative when overspent).' || E'\n'
                   || '# TYPE slo_guard_objective_budget_left_ratio gauge'),
           (11, NULL, '# HELP slo_guard_objective_burn_rate Error budget burn rate of each objective over a window (1 = spent exactly at the end of the period).' || E'\n'
                   || '# TYPE slo_guard_objective_burn_rate gauge'),
           (12, NULL, '# HELP slo_guard_objective_events Results counted by each objective over its period.' || E'\n'
                   || '# TYPE slo_guard_objective_events gauge'),
           (13, NULL, '# HELP slo_guard_last_pass_timestamp_seconds When a check last ran (Unix time): the worker, pg_cron or a hand call is alive.' || E'\n'
                   || '# TYPE slo_guard_last_pass_timestamp_seconds gauge'),
           (14, NULL, '# HELP slo_guard_checks Number of registered checks.' || E'\n'
                   || '# TYPE slo_guard_checks gauge')
    UNION ALL
    SELECT 1, st.name, 'slo_guard_check_state{' || st.l || ',kind="' || st.k || '",severity="'
                       || st.severity || '",state="' || st.state || '"} 1' FROM st
    UNION ALL
    SELECT 2, st.name, 'slo_guard_check_status{' || st.l || ',status="' || st.status || '"} 1'
      FROM st WHERE st.status IS NOT NULL
    UNION ALL
    SELECT 3, st.name, 'slo_guard_check_value{' || st.l || '} ' || st.value::text
      FROM st WHERE st.value IS NOT NULL
    UNION ALL
    SELECT 4, st.name, 'slo_guard_check_duration_seconds{' || st.l || '} ' || (st.duration_ms / 1000)::text
      FROM st WHERE st.duration_ms IS NOT NULL
    UNION ALL
    SELECT 5, st.name, 'slo_guard_check_last_run_timestamp_seconds{' || st.l || '} '
                       || EXTRACT(epoch FROM st.last_run)::text
      FROM st WHERE st.last_run IS NOT NULL
    UNION ALL
    SELECT 6, pg_catalog.lpad(al.id::text, 20, '0'),
           'slo_guard_alert_firing{alert_id="' || al.id || '",check="'
           || @extschema@.slo_metrics_label(al.check_name) || '",severity="' || al.severity || '"} 1'
      FROM al
    UNION ALL
    SELECT 7, sv.s, 'slo_guard_alerts_firing{severity="' || sv.s || '"} '
                    || (SELECT count(*) FROM al WHERE al.severity = sv.s)
      FROM (VALUES ('P0'), ('P1'), ('P2'), ('P3')) sv(s)
    UNION ALL
    SELECT 8, ob.name, 'slo_guard_objective_target_ratio{' || ob.l || '} ' || ob.target::text FROM ob
    UNION ALL
    SELECT 9, ob.name, 'slo_guard_objective_achieved_ratio{' || ob.l || '} ' || ob.achieved::text
      FROM ob WHERE ob.achieved IS NOT NULL
    UNION ALL
    SELECT 10, ob.name, 'slo_guard_objective_budget_left_ratio{' || ob.l || '} ' || ob.budget_left::text FROM ob
    UNION ALL
    SELECT 11, ob.name || w.o, 'slo_guard_objective_burn_rate{' || ob.l || ',window="' || w.w || '"} ' || w.v::text
      FROM ob, LATERAL (VALUES (1, '5m', ob.burn_5m), (2, '30m', ob.burn_30m), (3, '1h', ob.burn_1h),
                               (4, '6h', ob.burn_6h), (5, '3d', ob.burn_3d)) w(o, w, v)
     WHERE w.v IS NOT NULL
    UNION ALL
    SELECT 12, ob.name, 'slo_guard_objective_events{' || ob.l || '} ' || ob.total FROM ob
    UNION ALL
    SELECT 13, '', 'slo_guard_last_pass_timestamp_seconds ' || EXTRACT(epoch FROM max(st.last_run))::text
      FROM st HAVING max(st.last_run) IS NOT NULL
    UNION ALL
    SELECT 14, '', 'slo_guard_checks ' || count(*) FROM st
)
SELECT pg_catalog.string_agg(lines.line, E'\n' ORDER BY lines.fam, lines.key IS NOT NULL, lines.key) || E'\n'
  FROM lines
$$;
COMMENT ON FUNCTION slo_metrics() IS
  'slo_guard: checks, firing alerts, objectives and slo_guard''s own health in Prometheus text format 0.0.4';

REVOKE ALL ON FUNCTION slo_add_objective(text, text, float8, interval, float8, integer) FROM PUBLIC;
REVOKE ALL ON FUNCTION slo_alter_objective(text, float8, interval, float8, integer, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION slo_drop_objective(text, boolean) FROM PUBLIC;
REVOKE ALL ON FUNCTION slo_objective_status() FROM PUBLIC;
REVOKE ALL ON FUNCTION slo_require_budget(text, float8) FROM PUBLIC;
REVOKE ALL ON FUNCTION slo_metrics() FROM PUBLIC;

-- ==== privileges: keep only what slo_guard intends (issue 16) ====
-- Keep this section LAST, identical in sql/slo_guard.sql and sql/slo_guard--1.0--1.1.sql
-- (add schema changes above it). slo_guard intends every object it creates to be usable
-- by its owner only; the README tells the DBA what to GRANT. Default privileges
-- (ALTER DEFAULT PRIVILEGES, global or for the schema, as Supabase sets on public and
-- extensions for anon, authenticated and service_role) would otherwise hand the new
-- tables, sequences and functions to whoever they name. So, for every member of the
-- extension (and every sequence owned by a member table):
--   * an object this script created: every privilege of every grantee other than its
--     owner, PUBLIC included, is revoked;
--   * an object that existed before this upgrade (listed by the first section of the
--     upgrade script in slo_guard_upgrade.members, with its initial privileges as
--     pg_init_privs had them): a grantee's privilege is revoked when it came with the
--     install (it is in those initial privileges) or when the default privileges in
--     pg_default_acl give it to objects of that owner, type and schema; the rest of what
--     a DBA granted afterwards (an on-call role's SELECT) is kept. (1.0 recorded no
--     initial privileges for its tables: a default privilege removed since its install
--     is not recognised there.)
-- Then pg_init_privs, the initial privileges pg_dump compares with, is set to the owner's
-- entries only, as a fresh install records them: a dump carries the DBA's grants and
-- never the default-ACL ones, and a restore (whose CREATE EXTENSION strips again) gets
-- back exactly what the DBA granted. This is a direct UPDATE of the catalog because a
-- REVOKE in an extension script records the object's whole remaining ACL, the DBA's
-- grants included, as its initial privileges, and no command sets them otherwise.
-- Types (none yet) are treated like the rest; array types follow their element type.
DO $privileges$
DECLARE
    ext      oid := (SELECT e.oid FROM pg_catalog.pg_extension e WHERE e.extname = 'slo_guard');
    snapshot jsonb := coalesce(
                 nullif(pg_catalog.current_setting('slo_guard_upgrade.members', true), ''),
                 '[]')::jsonb;
    r        record;
BEGIN
    FOR r IN
        WITH objs AS (
            SELECT 'pg_catalog.pg_class'::pg_catalog.regclass AS classid, c.oid AS objid,
                   CASE WHEN c.relkind = 'S' THEN 'SEQUENCE' ELSE 'TABLE' END AS keyword,
                   pg_catalog.format('%I.%I', n.nspname, c.relname) AS ident,
                   c.relowner AS owner, c.relnamespace AS nsp,
                   CASE WHEN c.relkind = 'S' THEN 'S' ELSE 'r' END::pg_catalog."char" AS defacltype,
                   coalesce(c.relacl,
                       pg_catalog.acldefault(CASE WHEN c.relkind = 'S' THEN 's' ELSE 'r' END::pg_catalog."char",
                                             c.relowner)) AS acl
              FROM pg_catalog.pg_class c
              JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
             WHERE c.relkind IN ('r', 'p', 'S', 'v', 'm', 'f')
               AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                            WHERE d.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                              AND d.objid = c.oid
                              AND ((d.deptype = 'e' AND d.refobjid = ext
                                    AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass)
                                   OR (c.relkind = 'S' AND d.deptype IN ('a', 'i')
                                       AND d.refclassid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                       AND EXISTS (SELECT 1 FROM pg_catalog.pg_depend t
                                                    WHERE t.classid = 'pg_catalog.pg_class'::pg_catalog.regclass
                                                      AND t.objid = d.refobjid
                                                      AND t.deptype = 'e' AND t.refobjid = ext
                                                      AND t.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass))))
            UNION ALL
            SELECT 'pg_catalog.pg_proc'::pg_catalog.regclass, p.oid, 'ROUTINE',
                   pg_catalog.format('%I.%I(%s)', n.nspname, p.proname,
                                     pg_catalog.pg_get_function_identity_arguments(p.oid)),
                   p.proowner, p.pronamespace, 'f'::pg_catalog."char",
                   coalesce(p.proacl, pg_catalog.acldefault('f'::pg_catalog."char", p.proowner))
              FROM pg_catalog.pg_proc p
              JOIN pg_catalog.pg_namespace n ON n.oid = p.pronamespace
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_proc'::pg_catalog.regclass
                   AND d.objid = p.oid AND d.deptype = 'e' AND d.refobjid = ext
                   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
            UNION ALL
            SELECT 'pg_catalog.pg_type'::pg_catalog.regclass, t.oid, 'TYPE',
                   pg_catalog.format('%I.%I', n.nspname, t.typname),
                   t.typowner, t.typnamespace, 'T'::pg_catalog."char",
                   coalesce(t.typacl, pg_catalog.acldefault('T'::pg_catalog."char", t.typowner))
              FROM pg_catalog.pg_type t
              JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace
              JOIN pg_catalog.pg_depend d ON d.classid = 'pg_catalog.pg_type'::pg_catalog.regclass
                   AND d.objid = t.oid AND d.deptype = 'e' AND d.refobjid = ext
                   AND d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
             WHERE t.typcategory <> 'A'     -- an array type's privileges are its element's
        ),
        held AS (
            SELECT o.*, a.grantee, a.privilege_type,
                   EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(snapshot) s
                            WHERE (s ->> 'c')::pg_catalog.oid = o.classid
                              AND (s ->> 'o')::pg_catalog.oid = o.objid) AS existed,
                   EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(snapshot) s,
                                         pg_catalog.jsonb_array_elements(s -> 'i') i
                            WHERE (s ->> 'c')::pg_catalog.oid = o.classid
                              AND (s ->> 'o')::pg_catalog.oid = o.objid
                              AND (i ->> 0)::pg_catalog.oid = a.grantee
                              AND i ->> 1 = a.privilege_type) AS initial,
                   EXISTS (SELECT 1 FROM pg_catalog.pg_default_acl da,
                                         pg_catalog.aclexplode(da.defaclacl) x
                            WHERE da.defaclrole = o.owner
                              AND da.defaclnamespace IN (0, o.nsp)
                              AND da.defaclobjtype = o.defacltype
                              AND x.grantee = a.grantee
                              AND x.privilege_type = a.privilege_type) AS by_default
              FROM objs o, pg_catalog.aclexplode(o.acl) a
             WHERE a.grantee <> o.owner
        )
        SELECT h.keyword, h.ident,
               CASE WHEN h.grantee = 0 THEN 'PUBLIC'
                    ELSE pg_catalog.quote_ident(pg_catalog.pg_get_userbyid(h.grantee)) END AS grantee,
               CASE WHEN pg_catalog.bool_or(NOT h.existed) THEN 'ALL'
                    ELSE pg_catalog.string_agg(DISTINCT h.privilege_type, ', ') END AS privileges
          FROM held h
         WHERE NOT h.existed OR h.initial OR h.by_default
         GROUP BY h.keyword, h.ident, h.grantee
    LOOP
        EXECUTE pg_catalog.format('REVOKE %s ON %s %s FROM %s CASCADE',
                                  r.privileges, r.keyword, r.ident, r.grantee);
    END LOOP;

    -- Initial privileges: the owner's entries only (see above).
    UPDATE pg_catalog.pg_init_privs ip
       SET initprivs = ARRAY(SELECT item FROM pg_catalog.unnest(ip.initprivs) item
                              WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.aclexplode(ARRAY[item]) x
                                                 WHERE x.grantee <> m.owner))
      FROM (SELECT d.classid, d.objid,
                   CASE d.classid
                       WHEN 'pg_catalog.pg_class'::pg_catalog.regclass THEN
                           (SELECT c.relowner FROM pg_catalog.pg_class c WHERE c.oid = d.objid)
                       WHEN 'pg_catalog.pg_proc'::pg_catalog.regclass THEN
                           (SELECT p.proowner FROM pg_catalog.pg_proc p WHERE p.oid = d.objid)
                       WHEN 'pg_catalog.pg_type'::pg_catalog.regclass THEN
                           (SELECT t.typowner FROM pg_catalog.pg_type t WHERE t.oid = d.objid)
                   END AS owner
              FROM pg_catalog.pg_depend d
             WHERE d.refclassid = 'pg_catalog.pg_extension'::pg_catalog.regclass
               AND d.refobjid = ext AND d.deptype = 'e') m
     WHERE ip.classoid = m.classid AND ip.objoid = m.objid
       AND ip.objsubid = 0 AND ip.privtype = 'e' AND m.owner IS NOT NULL
       AND EXISTS (SELECT 1 FROM pg_catalog.aclexplode(ip.initprivs) x
                    WHERE x.grantee <> m.owner);

    IF pg_catalog.current_setting('slo_guard_upgrade.members', true) IS NOT NULL THEN
        PERFORM pg_catalog.set_config('slo_guard_upgrade.members', '', true);
    END IF;
END
$privileges$;
