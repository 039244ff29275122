# SloCatalog: a text snapshot of everything the slo_guard extension owns in one
# database, for comparing two installs (an upgraded 1.0 and a fresh 1.1, a
# restored dump and its source, ...). One line per object property, sorted;
# nothing in it depends on OIDs, so two databases of one cluster (or of two
# clusters) compare with a plain string equality.
#
#   use lib $FindBin::Bin;  use SloCatalog;
#   my $snap = SloCatalog::snapshot($node, 'db');         # every section
#   my $acl  = SloCatalog::snapshot($node, 'db', 'acl');  # only lines starting 'acl'
#
# Sections (first word of each line): member, function, relation, column,
# index, constraint, trigger, policy, sequence, comment, acl, initpriv, config.
package SloCatalog;
use strict;
use warnings;

our $SQL = <<'SQL';
WITH ext AS (
  SELECT oid, extnamespace FROM pg_extension WHERE extname = 'slo_guard'
), members AS (
  SELECT d.classid, d.objid, d.objsubid FROM pg_depend d, ext
   WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
), member_rels AS (
  SELECT objid AS oid FROM members WHERE classid = 'pg_class'::regclass
), rels AS (   -- the extension's relations, their indexes and their owned (identity) sequences
  SELECT c.oid, c.relname FROM pg_class c
   WHERE c.relkind <> 't' AND (c.oid IN (SELECT oid FROM member_rels)
      OR c.oid IN (SELECT i.indexrelid FROM pg_index i WHERE i.indrelid IN (SELECT oid FROM member_rels))
      OR c.oid IN (SELECT d.objid FROM pg_depend d
                    WHERE d.classid = 'pg_class'::regclass AND d.refclassid = 'pg_class'::regclass
                      AND d.deptype IN ('a', 'i') AND d.refobjid IN (SELECT oid FROM member_rels)))
), funcs AS (
  SELECT p.oid, p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS sig
    FROM pg_proc p WHERE p.oid IN (SELECT objid FROM members WHERE classid = 'pg_proc'::regclass)
)
SELECT line FROM (
  SELECT 'member ' || pg_describe_object(classid, objid, objsubid) FROM members
  UNION ALL
  SELECT format('function %s args=[%s] returns=%s kind=%s secdef=%s strict=%s volatile=%s parallel=%s config=%s lang=%s body=%s',
                f.sig, pg_get_function_arguments(p.oid), pg_get_function_result(p.oid), p.prokind,
                p.prosecdef, p.proisstrict, p.provolatile, p.proparallel, p.proconfig,
                l.lanname, md5(p.prosrc || coalesce(p.probin, '')))
    FROM funcs f JOIN pg_proc p ON p.oid = f.oid JOIN pg_language l ON l.oid = p.prolang
  UNION ALL
  SELECT format('relation %s kind=%s options=%s rls=%s/%s persistence=%s', r.relname, c.relkind,
                c.reloptions, c.relrowsecurity, c.relforcerowsecurity, c.relpersistence)
    FROM rels r JOIN pg_class c ON c.oid = r.oid
  UNION ALL
  SELECT format('column %s.%s type=%s notnull=%s default=%s identity=%s generated=%s collation=%s',
                r.relname, a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull,
                pg_get_expr(ad.adbin, ad.adrelid), a.attidentity, a.attgenerated, a.attcollation::regcollation)
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND NOT a.attisdropped
    JOIN pg_class c ON c.oid = r.oid AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
    LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum
  UNION ALL
  SELECT 'index ' || pg_get_indexdef(i.indexrelid) FROM rels r JOIN pg_index i ON i.indrelid = r.oid
  UNION ALL
  SELECT format('constraint %s %s %s', r.relname, co.conname, pg_get_constraintdef(co.oid))
    FROM rels r JOIN pg_constraint co ON co.conrelid = r.oid
  UNION ALL
  SELECT format('trigger %s %s enabled=%s', r.relname, pg_get_triggerdef(t.oid), t.tgenabled)
    FROM rels r JOIN pg_trigger t ON t.tgrelid = r.oid AND NOT t.tgisinternal
  UNION ALL
  SELECT format('policy %s %s cmd=%s permissive=%s roles=%s using=%s check=%s', r.relname, po.polname,
                po.polcmd, po.polpermissive,
                (SELECT array_agg(CASE WHEN x = 0 THEN 'public' ELSE x::regrole::text END ORDER BY 1)
                   FROM unnest(po.polroles) x),
                pg_get_expr(po.polqual, po.polrelid), pg_get_expr(po.polwithcheck, po.polrelid))
    FROM rels r JOIN pg_policy po ON po.polrelid = r.oid
  UNION ALL
  SELECT format('sequence %s type=%s start=%s inc=%s min=%s max=%s cache=%s cycle=%s', r.relname,
                s.seqtypid::regtype, s.seqstart, s.seqincrement, s.seqmin, s.seqmax, s.seqcache, s.seqcycle)
    FROM rels r JOIN pg_sequence s ON s.seqrelid = r.oid
  UNION ALL
  SELECT format('comment %s: %s', pg_describe_object(d.classoid, d.objoid, d.objsubid), d.description)
    FROM pg_description d, ext
   WHERE (d.classoid = 'pg_class'::regclass AND d.objoid IN (SELECT oid FROM rels))
      OR (d.classoid = 'pg_proc'::regclass AND d.objoid IN (SELECT oid FROM funcs))
      OR (d.classoid = 'pg_extension'::regclass AND d.objoid = ext.oid)
      OR (d.classoid = 'pg_trigger'::regclass AND d.objoid IN
            (SELECT t.oid FROM pg_trigger t WHERE t.tgrelid IN (SELECT oid FROM rels)))
      OR (d.classoid = 'pg_constraint'::regclass AND d.objoid IN
            (SELECT co.oid FROM pg_constraint co WHERE co.conrelid IN (SELECT oid FROM rels)))
  UNION ALL
  SELECT format('acl relation %s %s', r.relname, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(c.relacl) x))
    FROM rels r JOIN pg_class c ON c.oid = r.oid
  UNION ALL
  SELECT format('acl column %s.%s %s', r.relname, a.attname, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(a.attacl) x))
    FROM rels r JOIN pg_attribute a ON a.attrelid = r.oid AND a.attnum > 0 AND a.attacl IS NOT NULL
  UNION ALL
  SELECT format('acl function %s %s', f.sig, (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(p.proacl) x))
    FROM funcs f JOIN pg_proc p ON p.oid = f.oid
  UNION ALL
  SELECT format('acl schema %s', (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(n.nspacl) x))
    FROM ext JOIN pg_namespace n ON n.oid = ext.extnamespace
  UNION ALL
  SELECT format('initpriv %s %s %s', pg_describe_object(ip.classoid, ip.objoid, ip.objsubid), ip.privtype,
                (SELECT array_agg(x::text ORDER BY x::text) FROM unnest(ip.initprivs) x))
    FROM pg_init_privs ip JOIN members m ON m.classid = ip.classoid AND m.objid = ip.objoid
  UNION ALL
  SELECT format('config %s condition=%s', cfg.rel::regclass, cfg.cond)
    FROM pg_extension e, ext,
         unnest(e.extconfig, e.extcondition) AS cfg(rel, cond)
   WHERE e.oid = ext.oid
) s(line)
ORDER BY line COLLATE "C";
SQL

# snapshot($node, $dbname [, $section]): the sorted lines, newline-separated.
sub snapshot
{
	my ($node, $db, $section) = @_;
	my $out = $node->safe_psql($db, $SQL);
	return $out unless defined $section;
	return join("\n", grep { /^\Q$section\E / } split(/\n/, $out));
}

1;
