# Issue 16, at home on Supabase: on a Supabase-shaped database (test/t/
# SupabaseFixture.pm: default privileges that give anon, authenticated and
# service_role ALL on whatever is created in public and extensions), slo_guard
# installed by supabase_admin leaves no privilege to the API roles, PUBLIC or
# authenticator, whether it is
#   (a) created in public,
#   (b) created WITH SCHEMA extensions (Supabase's convention),
#   (c) created as 1.0 (whose script did not strip: the API roles got
#       everything) and brought to 1.2 by ALTER EXTENSION UPDATE, which strips
#       what came with the install or from default privileges and keeps what a
#       DBA granted afterwards (an on-call role);
# checked from the ACLs and by trying as each role.  A pg_dump / pg_restore of
# (c) into another Supabase-shaped database brings back the DBA's grants and
# none of the default-ACL ones (pg_init_privs).  Worker off: nothing here runs
# checks in the background.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 'test/t';
use SupabaseFixture;

my @API = (@SupabaseFixture::API_ROLES, 'authenticator');
my %ADMIN = SupabaseFixture::as('supabase_admin');

my $node = PostgreSQL::Test::Cluster->new('supa_priv');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
});
$node->start;
SupabaseFixture::create_roles($node);
$node->safe_psql('postgres', 'CREATE ROLE oncall NOLOGIN');

# Try, as ROLE (through authenticator and SET ROLE, as PostgREST does; as
# authenticator itself without it), each way into slo_guard: all refused.  One
# psql session per role, going on after each error.
sub refused_as
{
	my ($db, $schema, $role) = @_;
	my @tries = (
		[ 'read slo_check',   "SELECT count(*) FROM $schema.slo_check", 'table slo_check' ],
		[ 'read slo_result',  "SELECT count(*) FROM $schema.slo_result", 'table slo_result' ],
		[ 'read slo_alert',   "SELECT count(*) FROM $schema.slo_alert", 'table slo_alert' ],
		[
			'write slo_check',
			"INSERT INTO $schema.slo_check (name, kind, owner, search_path) VALUES ('x', 'sql', 10, '')",
			'table slo_check'
		],
		[ 'call slo_status()', "SELECT * FROM $schema.slo_status()", 'function slo_status' ],
		[
			'call slo_add_check()',
			"SELECT $schema.slo_add_check('x', 'table_exists', '{\"tables\": [\"t\"]}')",
			'function slo_add_check'
		],
		[
			'call slo_run_checks()', "SELECT * FROM $schema.slo_run_checks()",
			'function slo_run_checks'
		],
		[ 'call slo_drop_check()', "SELECT $schema.slo_drop_check('x')", 'function slo_drop_check' ],
		[
			'use a sequence', "SELECT nextval('$schema.slo_check_id_seq')",
			'sequence slo_check_id_seq'
		]);
	my $sql = ($role eq 'authenticator' ? '' : "SET ROLE $role;\n")
	  . join('', map { "$_->[1];\n" } @tries);
	my ($rc, $out, $err) =
	  $node->psql($db, $sql, on_error_stop => 0, SupabaseFixture::as('authenticator'));
	my @errors = grep { /ERROR:/ } split /\n/, $err;
	is(scalar(@errors), scalar(@tries), "$db: every try as $role fails") or diag $err;
	for my $i (0 .. $#tries)
	{
		my ($what, undef, $object) = @{ $tries[$i] };
		# authenticator (NOINHERIT) has no USAGE on extensions: refused sooner there
		my $denied =
		  $role eq 'authenticator'
		  ? qr/permission denied for (\Q$object\E|schema \Q$schema\E)$/
		  : qr/permission denied for \Q$object\E$/;
		like($errors[$i] // '', $denied, "$db: $role cannot $what");
	}
	return;
}

# Everything one database must show after its install or upgrade.
sub nothing_reaches_the_api
{
	my ($db, $schema) = @_;
	is(SupabaseFixture::privileges_held($node, $db, @API, 'PUBLIC'),
		'', "$db: no privilege on any slo_guard object for the API roles, authenticator or PUBLIC");
	is(SupabaseFixture::privileges_held($node, $db, 'supa_postgres'),
		'', "$db: nor for postgres, until the README's GRANTs");
	is( $node->safe_psql(
			$db, q{
SELECT count(*) FROM pg_init_privs ip
  JOIN pg_depend d ON d.classid = ip.classoid AND d.objid = ip.objoid AND d.deptype = 'e'
  JOIN pg_extension e ON e.oid = d.refobjid AND e.extname = 'slo_guard',
       aclexplode(ip.initprivs) a
 WHERE a.grantee <> (SELECT extowner FROM pg_extension WHERE extname = 'slo_guard')}),
		'0', "$db: the initial privileges pg_dump compares with are the owner's only");
	refused_as($db, $schema, $_) for @API;
	return;
}

# --- (a) in public --------------------------------------------------------------
SupabaseFixture::create_database($node, 'sb_public');
# and global default privileges (no IN SCHEMA), to PUBLIC
$node->safe_psql('sb_public', q{
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin GRANT SELECT ON TABLES TO PUBLIC;
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin GRANT USAGE ON SEQUENCES TO PUBLIC;
}, %ADMIN);
$node->safe_psql('sb_public', 'CREATE EXTENSION slo_guard', %ADMIN);
# the default privileges did reach a table created the same way
$node->safe_psql('sb_public', 'CREATE TABLE public.control (id int)', %ADMIN);
is( $node->safe_psql(
		'sb_public', q{SELECT has_table_privilege('anon', 'public.control', 'SELECT')}),
	't', 'sb_public: (the fixture works: a plain table created by supabase_admin is anon\'s)');
nothing_reaches_the_api('sb_public', 'public');

# rls_disabled over public (what the API exposes) skips slo_guard's tables there
$node->safe_psql('sb_public', q{
ALTER TABLE public.control ENABLE ROW LEVEL SECURITY;
SELECT slo_add_check('api_rls', 'rls_disabled', '{"schemas": ["public"]}');
}, %ADMIN);
is( $node->safe_psql(
		'sb_public', q{
SELECT status || ' ' || (detail ->> 'count') || ' skipped '
       || ((detail ->> 'extension_tables_skipped')::int = (SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
           WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r', 'p')
             AND NOT c.relrowsecurity
             AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'slo_guard')))::text
  FROM slo_run_checks(false) WHERE check_name = 'api_rls'}, %ADMIN),
	'ok 0 skipped true', 'sb_public: rls_disabled over public: ok, every one of slo_guard\'s own tables without row level security skipped (the secret tables have it)');

# --- (b) WITH SCHEMA extensions ------------------------------------------------
SupabaseFixture::create_database($node, 'sb_ext');
$node->safe_psql('sb_ext', 'CREATE EXTENSION slo_guard WITH SCHEMA extensions', %ADMIN);
nothing_reaches_the_api('sb_ext', 'extensions');
is( $node->safe_psql(
		'sb_ext',
		"SELECT count(*) = (SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid            WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r', 'p')              AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'slo_guard')) FROM pg_class WHERE relname LIKE 'slo\\_%' AND relnamespace = 'extensions'::regnamespace AND relkind = 'r'"
	),
	't', 'sb_ext: the tables are in extensions (all of the extension\'s tables)');

# The README's GRANTs (Supabase section) still work on the stripped objects,
# and what the DBA grants is what pg_dump carries.
$node->safe_psql('sb_ext', q{
GRANT EXECUTE ON FUNCTION
    extensions.slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
    extensions.slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
    extensions.slo_drop_check(text, boolean),
    extensions.slo_run_checks(boolean),
    extensions.slo_add_standard_checks(),
    extensions.slo_status(), extensions.slo_kinds() TO supa_postgres;
GRANT SELECT ON extensions.slo_check, extensions.slo_check_state, extensions.slo_result,
    extensions.slo_alert, extensions.slo_alert_event TO supa_postgres;
}, %ADMIN);
is( $node->safe_psql(
		'sb_ext', q{
SELECT extensions.slo_add_check('users_table', 'table_exists', '{"tables": ["public.users"]}') > 0},
		SupabaseFixture::as('supa_postgres')),
	't', 'sb_ext: postgres, granted the README\'s GRANTs, adds a check');
is(SupabaseFixture::privileges_held($node, 'sb_ext', @API, 'PUBLIC'),
	'', 'sb_ext: still nothing for the API roles');
my ($out, $err);
my $pg_dump = $node->installed_command('pg_dump');
IPC::Run::run([ $pg_dump, '-s', '-d', $node->connstr('sb_ext') ], '>', \$out, '2>', \$err);
like($out, qr/GRANT ALL ON FUNCTION extensions\.slo_status\(\) TO supa_postgres;/,
	'sb_ext: pg_dump carries the DBA\'s grants');
unlike($out, qr/GRANT [^;]* ON [^;]*slo_[^;]* TO (anon|authenticated|service_role)/,
	'sb_ext: pg_dump carries no grant of slo_guard objects to the API roles');

# --- (c) 1.0, then ALTER EXTENSION UPDATE -------------------------------------------
SupabaseFixture::create_database($node, 'sb_upgrade');
$node->safe_psql('sb_upgrade', q{
ALTER DEFAULT PRIVILEGES FOR ROLE supabase_admin GRANT SELECT ON TABLES TO PUBLIC;
}, %ADMIN);
$node->safe_psql('sb_upgrade',
	q{CREATE EXTENSION slo_guard WITH SCHEMA extensions VERSION '1.0'}, %ADMIN);
like(SupabaseFixture::privileges_held($node, 'sb_upgrade', 'anon', 'PUBLIC'),
	qr/slo_check: PUBLIC SELECT\n(.*\n)*.*slo_check: anon INSERT/,
	'sb_upgrade: 1.0 leaked: PUBLIC can read slo_check, anon can write it');
# the DBA's intended grants, made after the install
$node->safe_psql('sb_upgrade', q{
GRANT SELECT ON extensions.slo_check, extensions.slo_result TO oncall;
GRANT EXECUTE ON FUNCTION extensions.slo_status() TO oncall;
}, %ADMIN);
$node->safe_psql('sb_upgrade', 'ALTER EXTENSION slo_guard UPDATE', %ADMIN);
# (the 1.2 library refuses a 1.0 schema: checks are added once it is updated)
$node->safe_psql('sb_upgrade', q{
SELECT extensions.slo_add_check('users_table', 'table_exists', '{"tables": ["public.users"]}');
SELECT count(*) FROM extensions.slo_run_checks(false);
}, %ADMIN);
is($node->safe_psql('sb_upgrade', "SELECT extversion FROM pg_extension WHERE extname = 'slo_guard'"),
	'1.2', 'sb_upgrade: updated to 1.2');
nothing_reaches_the_api('sb_upgrade', 'extensions');
is(SupabaseFixture::privileges_held($node, 'sb_upgrade', 'oncall'),
	join("\n",
		'extensions.slo_check: oncall SELECT',
		'extensions.slo_check: oncall SELECT (has_privilege)',
		'extensions.slo_result: oncall SELECT',
		'extensions.slo_result: oncall SELECT (has_privilege)',
		'extensions.slo_status(): oncall EXECUTE',
		'extensions.slo_status(): oncall EXECUTE (has_privilege)'),
	'sb_upgrade: the on-call role keeps exactly what the DBA granted it');

# ... and through pg_dump / pg_restore into another Supabase-shaped database:
# the restore's CREATE EXTENSION strips again, the dump adds only the DBA's grants.
my $dumpfile = $node->basedir . '/sb_upgrade.dump';
IPC::Run::run([ $pg_dump, '-Fc', '-f', $dumpfile, '-d', $node->connstr('sb_upgrade') ],
	'>', \$out, '2>', \$err)
  or die "pg_dump: $err";
SupabaseFixture::create_database($node, 'sb_restored');
my $pg_restore = $node->installed_command('pg_restore');
# the schemas and tables the fixture already made are left out of the restore
IPC::Run::run([ $pg_restore, '-l', $dumpfile ], '>', \$out, '2>', \$err) or die "pg_restore -l: $err";
my $list = join("\n",
	grep { !/ SCHEMA - / && !/ (auth|storage|supabase_migrations) / && !/DEFAULT ACL/ }
	  split /\n/, $out);
my $listfile = $node->basedir . '/sb_upgrade.list';
PostgreSQL::Test::Utils::append_to_file($listfile, "$list\n");
ok( IPC::Run::run(
		[
			$pg_restore, '--exit-on-error', '-L', $listfile, '-U', 'supabase_admin',
			'-d', $node->connstr('sb_restored'), $dumpfile
		],
		'>', \$out, '2>', \$err),
	'sb_restored: pg_restore succeeds')
  or diag $err;
nothing_reaches_the_api('sb_restored', 'extensions');
is(SupabaseFixture::privileges_held($node, 'sb_restored', 'oncall'),
	SupabaseFixture::privileges_held($node, 'sb_upgrade', 'oncall'),
	'sb_restored: the on-call role\'s grants came back with the dump');
is( $node->safe_psql(
		'sb_restored',
		"SELECT name || ' ' || owner::regrole FROM extensions.slo_check"),
	'users_table supabase_admin', 'sb_restored: the check came back with its owner');

$node->stop;
done_testing();
