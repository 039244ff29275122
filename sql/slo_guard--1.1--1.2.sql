-- slo_guard 1.1 -> 1.2 (ALTER EXTENSION slo_guard UPDATE).
-- Every schema change since 1.1 lands here as well as in sql/slo_guard.sql; the upgrade
-- test compares an upgraded 1.0 and 1.1 install with a fresh 1.2 install, catalog by catalog.
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

-- ---------------------------------------------------------------------------
-- Issue 11: HTTP probes, targets and the delivery outbox.
-- Issue 11, probes: the http kind's header values are secrets. slo_add_check and
-- slo_alter_check (which write slo_check as the extension owner) move them here and
-- leave '********' in slo_check.params; the http kind reads them back as the extension
-- owner when it sends a probe. Row-level security: besides the extension owner and
-- superusers, only a member of the check's owner sees its row, so a role granted
-- SELECT on every slo_ table for on-call use sees none.
CREATE TABLE slo_check_secret (
    check_id bigint PRIMARY KEY
             REFERENCES slo_check (id) ON DELETE CASCADE DEFERRABLE INITIALLY DEFERRED,
    owner    regrole NOT NULL,
    headers  jsonb NOT NULL DEFAULT '{}'
);
COMMENT ON COLUMN slo_check_secret.check_id IS 'the check (slo_check.id) these secrets belong to';
COMMENT ON COLUMN slo_check_secret.headers IS
  'the http check''s header values by header name (slo_check.params shows ******** for each)';
COMMENT ON COLUMN slo_check_secret.owner IS
  'the check''s owner (kept equal to slo_check.owner by trigger slo_check_secret_split); its members see the row';
COMMENT ON TABLE slo_check_secret IS
  'slo_guard: secret param values of checks (http header values), readable by the check''s owner and superusers only';
ALTER TABLE slo_check_secret ENABLE ROW LEVEL SECURITY;
CREATE POLICY slo_check_secret_owner ON slo_check_secret
    USING (pg_catalog.pg_has_role(current_user, owner::oid, 'MEMBER'));
COMMENT ON POLICY slo_check_secret_owner ON slo_check_secret IS
  'slo_guard: a check''s secrets are visible to members of its owner only';
SELECT pg_catalog.pg_extension_config_dump('slo_check_secret', '');

-- Split an http check's header values off into slo_check_secret. A value written as
-- '********' (params copied from slo_check) keeps the stored one; a row whose values are
-- all '********' (a restore: slo_check_secret is restored on its own) writes nothing.
CREATE FUNCTION slo_check_secret_split()
RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
    hdrs   jsonb := NEW.params -> 'headers';
    stored jsonb;
    secret jsonb := '{}';
    shown  jsonb := '{}';
    fresh  boolean := false;
    k      text;
    v      jsonb;
BEGIN
    IF NEW.kind <> 'http' OR jsonb_typeof(hdrs) IS DISTINCT FROM 'object' THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.owner IS DISTINCT FROM OLD.owner THEN
        UPDATE @extschema@.slo_check_secret s SET owner = NEW.owner WHERE s.check_id = NEW.id;
    END IF;
    SELECT s.headers INTO stored FROM @extschema@.slo_check_secret s WHERE s.check_id = NEW.id;
    FOR k, v IN SELECT e.key, e.value FROM jsonb_each(hdrs) e LOOP
        IF v = '"********"'::jsonb THEN
            IF stored ? k THEN
                secret := secret || jsonb_build_object(k, stored -> k);
            END IF;
        ELSE
            secret := secret || jsonb_build_object(k, v);
            fresh := true;
        END IF;
        shown := shown || jsonb_build_object(k, '********');
    END LOOP;
    NEW.params := jsonb_set(NEW.params, '{headers}', shown);
    IF fresh THEN
        INSERT INTO @extschema@.slo_check_secret AS s (check_id, owner, headers)
            VALUES (NEW.id, NEW.owner, secret)
            ON CONFLICT (check_id) DO UPDATE SET owner = EXCLUDED.owner, headers = EXCLUDED.headers;
    END IF;
    RETURN NEW;
END
$$;
COMMENT ON FUNCTION slo_check_secret_split() IS
  'slo_guard: trigger function moving an http check''s header values from slo_check.params to slo_check_secret';
REVOKE ALL ON FUNCTION slo_check_secret_split() FROM PUBLIC;
CREATE TRIGGER slo_check_secret_split
    BEFORE INSERT OR UPDATE OF kind, params, owner ON slo_check
    FOR EACH ROW EXECUTE FUNCTION slo_check_secret_split();
COMMENT ON TRIGGER slo_check_secret_split ON slo_check IS
  'slo_guard: http header values are stored in slo_check_secret, slo_check.params shows ********';
-- (end of issue 11, probes)
-- (end of issue 11)

-- ---------------------------------------------------------------------------
-- Issue 12: on-call (acknowledge, escalate, silence, repeat, digest, reports).
-- (end of issue 12)

-- ---------------------------------------------------------------------------
-- Issue 15: hardening.
-- (end of issue 15)

-- ---------------------------------------------------------------------------
-- Issue 9 and 13: run model and objectives follow-ups.
-- How long each check's last run took: the worker runs a check that took more than half
-- a batch's time budget only at the head of a batch, so it never holds other checks'
-- claims while it runs (run.c, SloRunDueBatch).
ALTER TABLE slo_check_state ADD COLUMN last_duration_ms float8;
COMMENT ON COLUMN slo_check_state.last_duration_ms IS 'how long the last run took, in milliseconds';
-- (end of issue 9 and 13)

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
