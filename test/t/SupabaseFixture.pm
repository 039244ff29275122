# A Supabase-shaped database on a PostgreSQL::Test::Cluster node, as Supabase's
# images set one up (supabase/postgres migrations/db/init-scripts, the CLI's
# supabase_migrations): the roles, the schemas, the grants and, above all, the
# default privileges that hand everything created in public and extensions to
# the API roles.  Used by test/t/300_supa_*.pl (issue 16); prove runs only *.pl.
#
#   use lib 'test/t';            # prove runs from the top of the tree
#   use SupabaseFixture;
#   SupabaseFixture::create_roles($node);        # once per cluster
#   SupabaseFixture::create_database($node, 'app');
#   $node->safe_psql('app', $sql, SupabaseFixture::as('supabase_admin'));
#
# Roles (cluster-wide):
#   supabase_admin  superuser: installs extensions (CREATE EXTENSION ... WITH SCHEMA extensions)
#   supa_postgres   Supabase's "postgres" role: LOGIN CREATEROLE CREATEDB, not a superuser,
#                   owns the app schema and the database; the check admin of the README
#                   (the cluster's bootstrap superuser is already called postgres here)
#   anon, authenticated, service_role   NOLOGIN NOINHERIT: the roles PostgREST switches to
#   authenticator   LOGIN NOINHERIT, granted the three (PostgREST's login role)
package SupabaseFixture;

use strict;
use warnings;

our @API_ROLES = qw(anon authenticated service_role);

# psql parameters to connect as ROLE (trust authentication on the test cluster).
sub as
{
	my ($role) = @_;
	return (extra_params => [ '-U', $role ]);
}

sub create_roles
{
	my ($node) = @_;
	$node->safe_psql(
		'postgres', q{
CREATE ROLE supabase_admin LOGIN SUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS;
CREATE ROLE supa_postgres LOGIN CREATEROLE CREATEDB;
CREATE ROLE anon NOLOGIN NOINHERIT;
CREATE ROLE authenticated NOLOGIN NOINHERIT;
CREATE ROLE service_role NOLOGIN NOINHERIT BYPASSRLS;
CREATE ROLE authenticator LOGIN NOINHERIT;
GRANT anon, authenticated, service_role TO authenticator;
GRANT anon, authenticated, service_role TO supa_postgres;
ALTER ROLE anon SET statement_timeout = '3s';
ALTER ROLE authenticated SET statement_timeout = '8s';
});
	return;
}

# A database as a Supabase project has it, made by supabase_admin and owned by
# "postgres" (supa_postgres).
sub create_database
{
	my ($node, $db) = @_;
	$node->safe_psql('postgres', qq{CREATE DATABASE "$db" OWNER supa_postgres},
		as('supabase_admin'));
	$node->safe_psql(
		$db, q{
-- public: used by the API
ALTER SCHEMA public OWNER TO supa_postgres;
GRANT USAGE ON SCHEMA public TO supa_postgres, anon, authenticated, service_role;

-- extensions: Supabase's home for extensions; usable, not exposed by the API
CREATE SCHEMA extensions;
GRANT USAGE ON SCHEMA extensions TO supa_postgres, anon, authenticated, service_role;

-- the default privileges of Supabase's images: whatever supabase_admin or
-- postgres creates in public or extensions goes to the API roles
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON TABLES TO supa_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO supa_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA public
    GRANT ALL ON SEQUENCES TO supa_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA extensions
    GRANT ALL ON TABLES TO supa_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA extensions
    GRANT ALL ON FUNCTIONS TO supa_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin IN SCHEMA extensions
    GRANT ALL ON SEQUENCES TO supa_postgres, anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA public
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA extensions
    GRANT ALL ON TABLES TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA extensions
    GRANT ALL ON FUNCTIONS TO anon, authenticated, service_role;
ALTER DEFAULT PRIVILEGES FOR ROLE supa_postgres IN SCHEMA extensions
    GRANT ALL ON SEQUENCES TO anon, authenticated, service_role;

-- GoTrue's and Storage's schemas (owned by their admin roles on Supabase)
CREATE SCHEMA auth;
CREATE TABLE auth.users (id uuid PRIMARY KEY, email text);
ALTER TABLE auth.users ENABLE ROW LEVEL SECURITY;
GRANT USAGE ON SCHEMA auth TO supa_postgres;
CREATE SCHEMA storage;
CREATE TABLE storage.buckets (id text PRIMARY KEY, name text NOT NULL);
CREATE TABLE storage.objects (id uuid PRIMARY KEY, bucket_id text REFERENCES storage.buckets,
                              name text);
ALTER TABLE storage.objects ENABLE ROW LEVEL SECURITY;
GRANT USAGE ON SCHEMA storage TO supa_postgres, anon, authenticated, service_role;

-- the Supabase CLI's migration history (supabase db push), owned by postgres
CREATE SCHEMA supabase_migrations AUTHORIZATION supa_postgres;
CREATE TABLE supabase_migrations.schema_migrations (
    version    text PRIMARY KEY,
    statements text[],
    name       text
);
ALTER TABLE supabase_migrations.schema_migrations OWNER TO supa_postgres;
}, as('supabase_admin'));
	return;
}

# Every privilege a role (or PUBLIC) holds on a member of the slo_guard extension
# (and its sequences), as "object: grantee privilege" lines, from the ACLs
# themselves (pg_class.relacl, pg_proc.proacl, NULL read as the default) and
# from has_*_privilege (which sees privileges through role membership).  Empty
# when the roles hold nothing.
sub privileges_held
{
	my ($node, $db, @roles) = @_;
	my $roles = join(', ', map { "'$_'" } @roles);
	return $node->safe_psql(
		$db, qq{
WITH ext AS (SELECT oid FROM pg_extension WHERE extname = 'slo_guard'),
members AS (
    SELECT d.classid, d.objid FROM pg_depend d, ext
     WHERE d.refclassid = 'pg_extension'::regclass AND d.refobjid = ext.oid AND d.deptype = 'e'
),
objs AS (
    SELECT c.oid::regclass::text AS obj, c.relkind::text AS kind,
           coalesce(c.relacl, acldefault(CASE c.relkind WHEN 'S' THEN 's' ELSE 'r' END::"char",
                                         c.relowner)) AS acl, c.oid
      FROM pg_class c JOIN members m ON m.classid = 'pg_class'::regclass AND m.objid = c.oid
    UNION ALL
    SELECT p.oid::regprocedure::text, 'f', coalesce(p.proacl, acldefault('f', p.proowner)), p.oid
      FROM pg_proc p JOIN members m ON m.classid = 'pg_proc'::regclass AND m.objid = p.oid
),
roles AS (
    SELECT r AS role, CASE r WHEN 'PUBLIC' THEN 0 ELSE r::regrole::oid END AS roleid
      FROM unnest(ARRAY[$roles]) r
)
SELECT obj || ': ' || role || ' ' || what FROM (
    SELECT o.obj, r.role, a.privilege_type AS what
      FROM objs o, aclexplode(o.acl) a, roles r WHERE a.grantee = r.roleid
    UNION
    SELECT o.obj, r.role, p.priv || ' (has_privilege)'
      FROM objs o, roles r,
           unnest(CASE o.kind WHEN 'f' THEN ARRAY['EXECUTE']
                              WHEN 'S' THEN ARRAY['USAGE', 'SELECT', 'UPDATE']
                              ELSE ARRAY['SELECT', 'INSERT', 'UPDATE', 'DELETE', 'TRUNCATE',
                                         'REFERENCES', 'TRIGGER'] END) p(priv)
     WHERE r.role <> 'PUBLIC'
       AND CASE o.kind WHEN 'f' THEN has_function_privilege(r.role, o.oid, p.priv)
                       WHEN 'S' THEN has_sequence_privilege(r.role, o.oid, p.priv)
                       ELSE has_table_privilege(r.role, o.oid, p.priv) END
) x ORDER BY 1});
}

1;
