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
