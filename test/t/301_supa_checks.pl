# Issue 16, at home on Supabase: the seeds' runbook checks on a Supabase-shaped
# database (test/t/SupabaseFixture.pm), the way the README's "Supabase"
# section says to set it up: supabase_admin creates slo_guard WITH SCHEMA
# extensions and gives "postgres" (supa_postgres here, not a superuser) the
# check-admin GRANTs; postgres adds NestSync's and MachineMate's checks (the
# migration check on supabase_migrations.schema_migrations, rls_disabled over
# the schemas the API exposes) and the worker (on, short naptime) runs them as
# postgres.  Then direct writes into slo_check: a role that was granted INSERT
# and UPDATE on it (as Supabase's default privileges used to do) cannot make a
# check run as a superuser or as postgres; a superuser may name another role,
# and the check then runs as that role, not as the superuser.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

use lib 'test/t';
use SupabaseFixture;

my %ADMIN = SupabaseFixture::as('supabase_admin');
my %PG    = SupabaseFixture::as('supa_postgres');
my $db    = 'sb_app';

my $node = PostgreSQL::Test::Cluster->new('supa_checks');
$node->init;
# The worker serves sb_app only once the checks have been run by hand (below),
# so that the hand run sees every check due and none locked by a pass.
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = '200ms'
});
$node->start;
SupabaseFixture::create_roles($node);
SupabaseFixture::create_database($node, $db);

# --- the app: the demo's NestSync and MachineMate schema, created by postgres ---
my $srcdir = $ENV{TESTDIR} // '.';
my $schema = PostgreSQL::Test::Utils::slurp_file("$srcdir/demo/schema.sql");
# a custom setting of the database is supabase_admin's to set (PostgreSQL 15
# lets only a superuser set a placeholder such as app.data_region)
$schema =~ s/^ALTER DATABASE .*app\.data_region.*$//m
  or die 'demo/schema.sql no longer sets app.data_region';
$node->safe_psql($db, $schema, %PG);
$node->safe_psql($db, qq{ALTER DATABASE $db SET app.data_region = 'canada-central'}, %ADMIN);
$node->safe_psql($db, q{
-- Supabase's advice for every table the API exposes
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE children ENABLE ROW LEVEL SECURITY;
ALTER TABLE consent_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE notification_preferences ENABLE ROW LEVEL SECURITY;
ALTER TABLE alembic_version ENABLE ROW LEVEL SECURITY;
-- supabase db push's history
INSERT INTO supabase_migrations.schema_migrations (version, name) VALUES
    ('20240901090000', 'initial'), ('20241001120000', 'consent_columns');
}, %PG);

# --- install, as the README's Supabase section says ---
$node->safe_psql($db, q{
CREATE EXTENSION slo_guard WITH SCHEMA extensions;
GRANT EXECUTE ON FUNCTION
    extensions.slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
    extensions.slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
    extensions.slo_drop_check(text, boolean),
    extensions.slo_run_checks(boolean),
    extensions.slo_add_standard_checks(),
    extensions.slo_status(), extensions.slo_kinds() TO supa_postgres;
GRANT SELECT ON extensions.slo_check, extensions.slo_check_state, extensions.slo_result,
    extensions.slo_alert, extensions.slo_alert_event TO supa_postgres;
GRANT pg_monitor TO supa_postgres;
}, %ADMIN);
is(SupabaseFixture::privileges_held($node, $db, @SupabaseFixture::API_ROLES, 'authenticator', 'PUBLIC'),
	'', 'the API roles hold nothing on slo_guard');

# --- postgres adds the seeds' checks (names resolve with its search_path) ---
$node->safe_psql($db, q{
SET search_path = public, extensions;
-- NestSync P0 "Database Health Failure": critical tables
SELECT slo_add_check('nestsync_critical_tables', 'table_exists',
    '{"tables": ["users", "children", "consent_records"]}',
    severity => 'P0', every => '1 second', labels => '{"app": "nestsync", "category": "db_health"}');
-- NestSync P0 migration state, on Supabase: supabase db push's history
SELECT slo_add_check('nestsync_migration', 'migration',
    '{"table": "supabase_migrations.schema_migrations", "expect": "20241001120000"}',
    severity => 'P0', every => '1 second', labels => '{"app": "nestsync", "category": "db_health"}');
-- NestSync P1 PIPEDA: consent columns, data region, consent records present
SELECT slo_add_check('nestsync_consent_columns', 'columns_exist',
    '{"table": "notification_preferences",
      "columns": ["notification_consent_granted", "marketing_consent_granted"]}',
    severity => 'P1', every => '1 second', labels => '{"app": "nestsync", "category": "compliance"}');
SELECT slo_add_check('nestsync_data_region', 'setting',
    '{"name": "app.data_region", "allowed": ["canada-central", "canada-east"]}',
    severity => 'P1', every => '1 second', labels => '{"app": "nestsync", "category": "compliance"}');
SELECT slo_add_check('nestsync_consent_records', 'sql',
    '{"query": "SELECT count(*) FROM consent_records", "fail_below": 1}',
    severity => 'P1', every => '1 second', fail_after => 2,
    labels => '{"app": "nestsync", "category": "compliance"}');
-- NestSync P2 early warning: error rate over 20 % in recent checks
SELECT slo_add_check('nestsync_error_rate', 'window',
    '{"of": "nestsync_critical_tables", "window": "5 minutes", "fail_rate": true, "fail_above": 0.2}',
    severity => 'P2', every => '1 second', labels => '{"app": "nestsync", "category": "early_warning"}');
-- MachineMate: growth of favorites, history and media_assets
SELECT slo_add_check('machinemate_growth', 'table_growth',
    '{"tables": ["machinemate.favorites", "machinemate.history", "machinemate.media_assets"],
      "max_bytes": 5368709120, "warn_days_to_limit": 14}',
    severity => 'P2', every => '1 second', labels => '{"app": "machinemate", "category": "storage"}');
-- Supabase: every table the API exposes has row level security
SELECT slo_add_check('api_rls', 'rls_disabled', '{"schemas": ["public", "extensions"]}',
    severity => 'P1', every => '1 second', labels => '{"category": "security"}');
-- the server-health starter set (postgres has pg_monitor)
SELECT slo_add_standard_checks();
}, %PG);
is( $node->safe_psql(
		$db, q{SELECT count(*) FROM extensions.slo_check WHERE owner = 'supa_postgres'::regrole},
		%PG),
	'12', 'postgres added the 8 runbook checks and the 4 standard ones, as their owner');

# A hand run by postgres: everything healthy.
is( $node->safe_psql(
		$db, q{
SELECT string_agg(check_name || '=' || status, ' ' ORDER BY check_name)
  FROM extensions.slo_run_checks(false) WHERE status <> 'ok'}, %PG),
	'', 'postgres runs every check by hand: all ok');
is( $node->safe_psql(
		$db, q{
SELECT summary || ' skipped ' || ((detail ->> 'extension_tables_skipped')::int
       = (SELECT count(*) FROM pg_depend d JOIN pg_class c ON c.oid = d.objid
           WHERE d.classid = 'pg_class'::regclass AND d.deptype = 'e' AND c.relkind IN ('r', 'p')
             AND NOT c.relrowsecurity
             AND d.refobjid = (SELECT e.oid FROM pg_extension e WHERE e.extname = 'slo_guard')))::text
  FROM extensions.slo_result WHERE check_name = 'api_rls' ORDER BY id DESC LIMIT 1}, %PG),
	'Every table in public, extensions has row level security enabled. skipped true',
	'rls_disabled over public and extensions skips every one of slo_guard\'s own tables without row level security');

# The worker runs them too, as postgres.
$node->safe_psql('postgres', qq{
ALTER SYSTEM SET slo_guard.database = '$db';
SELECT pg_reload_conf();
});
ok( $node->poll_query_until(
		$db, q{
SELECT count(*) = 12 FROM extensions.slo_check_state WHERE last_run > now() - interval '3 seconds'}),
	'the worker runs all 12 checks');

# Break two things the runbooks watch for; the worker raises the alerts.
$node->safe_psql($db, q{
CREATE TABLE public.leaky (id int);     -- exposed by the API, no RLS
INSERT INTO supabase_migrations.schema_migrations (version, name)
    VALUES ('20241101000000', 'unreviewed');
}, %PG);
ok( $node->poll_query_until(
		$db, q{
SELECT count(*) = 2 FROM extensions.slo_status()
 WHERE state = 'firing' AND name IN ('api_rls', 'nestsync_migration')}),
	'the worker fires api_rls and nestsync_migration');
is( $node->safe_psql(
		$db, q{SELECT summary FROM extensions.slo_status() WHERE name = 'api_rls'}, %PG),
	'Table public.leaky has row level security disabled, so any role with table privileges reads all its rows.',
	'api_rls names the exposed table, not slo_guard\'s');
like(
	$node->safe_psql(
		$db, q{SELECT summary FROM extensions.slo_status() WHERE name = 'nestsync_migration'},
		%PG),
	qr/20241101000000/,
	'nestsync_migration names the unexpected version');
$node->safe_psql($db, q{
ALTER TABLE public.leaky ENABLE ROW LEVEL SECURITY;
DELETE FROM supabase_migrations.schema_migrations WHERE version = '20241101000000';
}, %PG);
ok( $node->poll_query_until(
		$db, q{
SELECT count(*) = 2 FROM extensions.slo_status()
 WHERE state = 'ok' AND name IN ('api_rls', 'nestsync_migration')}),
	'both resolve once repaired');

# --- direct writes into slo_check -------------------------------------------------
# A role granted INSERT and UPDATE on slo_check explicitly (what the default
# privileges used to give), as PostgREST would use it.
$node->safe_psql($db, q{
GRANT SELECT, INSERT, UPDATE ON extensions.slo_check TO authenticated;
}, %ADMIN);
my $super_oid = $node->safe_psql($db, q{SELECT 'supabase_admin'::regrole::oid});

sub as_authenticated
{
	my ($sql) = @_;
	my ($rc, $out, $err) =
	  $node->psql($db, "SET ROLE authenticated; $sql", SupabaseFixture::as('authenticator'));
	return ($rc, $err);
}

my ($rc, $err) = as_authenticated(qq{
INSERT INTO extensions.slo_check (name, kind, params, owner, search_path)
VALUES ('pwn', 'sql', '{"query": "SELECT 1"}', $super_oid, 'public')});
isnt($rc, 0, 'a row naming a superuser as owner is refused');
like(
	$err,
	qr/ERROR:  permission denied to make role "supabase_admin" the owner of check "pwn"/,
	'... with a message naming the owner role');
like($err, qr/HINT:  Add checks with slo_add_check\(\)/, '... and a hint');

($rc, $err) = as_authenticated(q{
INSERT INTO extensions.slo_check (name, kind, params, owner, search_path)
VALUES ('pwn2', 'sql', '{"query": "SELECT 1"}', 'supa_postgres'::regrole, 'public')});
like($err, qr/permission denied to make role "supa_postgres" the owner of check "pwn2"/,
	'a row naming postgres as owner is refused');

($rc, $err) = as_authenticated(q{
UPDATE extensions.slo_check SET params = '{"query": "SELECT count(*) FROM auth.users"}'
 WHERE name = 'nestsync_consent_records'});
like($err, qr/permission denied to make role "supa_postgres" the owner of check "nestsync_consent_records"/,
	'changing the query of postgres\'s check is refused');
($rc, $err) = as_authenticated(q{
UPDATE extensions.slo_check SET search_path = 'evil, public' WHERE name = 'nestsync_consent_records'});
like($err, qr/permission denied to make role "supa_postgres"/,
	'changing the search_path of postgres\'s check is refused');
($rc, $err) = as_authenticated(q{
UPDATE extensions.slo_check SET severity = 'P3' WHERE name = 'nestsync_consent_records'});
is($rc, 0, 'a change that runs nothing new (severity) does not fire the trigger');
is( $node->safe_psql(
		$db, q{
SELECT count(*) FROM extensions.slo_check WHERE name IN ('pwn', 'pwn2')
    OR params ->> 'query' LIKE '%auth.users%' OR search_path LIKE 'evil%'}),
	'0', 'none of it reached slo_check');

# A superuser may name another role: the check then runs as that role.
$node->safe_psql($db, q{
WITH c AS (
    INSERT INTO extensions.slo_check (name, kind, params, owner, search_path)
    VALUES ('by_super', 'sql', '{"query": "SELECT count(*) FROM pg_authid"}',
            'supa_postgres'::regrole, 'public')
    RETURNING id)
INSERT INTO extensions.slo_check_state (check_id) SELECT id FROM c;
}, %ADMIN);
ok( $node->poll_query_until(
		$db, q{SELECT count(*) > 0 FROM extensions.slo_result WHERE check_name = 'by_super'}),
	'the worker runs the check a superuser inserted');
like(
	$node->safe_psql(
		$db, q{
SELECT status || ': ' || summary FROM extensions.slo_result WHERE check_name = 'by_super'
 ORDER BY id LIMIT 1}),
	qr/^error: .*permission denied for table pg_authid/,
	'a superuser inserting a row for postgres: it runs as postgres, not as the superuser');

$node->stop;
done_testing();
