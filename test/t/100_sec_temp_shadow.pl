# Issue 8, attack 1: a check admin must not become superuser (or read secrets)
# by shadowing what a superuser's check reads with temporary objects of its
# own session.  The attacker has exactly the README's check-admin grants.
# Checks run with pg_temp last; a temporary relation never stands in for a
# checked table (the catalog and migration kinds see it as missing, and any
# query a check parses or executes that names one is refused).
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('sec_temp');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'slo_guard'\nslo_guard.enabled = off\n");
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
-- README "Privileges", verbatim but for the role names
CREATE ROLE oncall;
GRANT USAGE ON SCHEMA public TO oncall;
GRANT EXECUTE ON FUNCTION slo_status(), slo_kinds() TO oncall;
GRANT SELECT ON slo_check, slo_check_state, slo_result, slo_alert, slo_alert_event TO oncall;
CREATE ROLE attacker LOGIN;
GRANT oncall TO attacker;
GRANT EXECUTE ON FUNCTION
    slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
    slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
    slo_drop_check(text, boolean),
    slo_run_checks(boolean) TO attacker;
GRANT pg_monitor TO attacker;
-- a role whose password hash the attacker wants
CREATE ROLE app_owner PASSWORD 'correct horse battery staple';
-- the README's checks, added by a superuser
SELECT slo_add_check('alembic_head', 'migration',
                     '{"table": "alembic_version", "expect": "003_consent"}', severity => 'P0');
SELECT slo_add_check('consent_records_present', 'sql',
                     '{"query": "SELECT count(*) FROM consent_records", "fail_below": 1}',
                     severity => 'P1', fail_after => 2);
SELECT slo_add_check('critical_tables', 'table_exists',
                     '{"tables": ["consent_records"]}', severity => 'P0');
SELECT slo_add_check('consent_columns', 'columns_exist',
                     '{"table": "consent_records", "columns": ["n"]}', severity => 'P1');
});

# The attacker's session: temporary functions and views named like the checked
# tables, then a pass.  $stable makes the leak a STABLE function (which the
# planner may call while estimating).
sub attack
{
	my ($stable) = @_;
	my $vol = $stable ? 'STABLE' : 'VOLATILE';
	my ($ret, $out, $err) = $node->psql('postgres', qq{
CREATE FUNCTION pg_temp.evil() RETURNS text LANGUAGE plpgsql AS \$\$
BEGIN
  ALTER ROLE attacker SUPERUSER;
  RETURN '003_consent';
END \$\$;
CREATE FUNCTION pg_temp.leak() RETURNS bigint LANGUAGE plpgsql $vol AS \$\$
BEGIN
  RAISE EXCEPTION 'hash=%', (SELECT rolpassword FROM pg_authid WHERE rolname = 'app_owner');
END \$\$;
CREATE TEMP VIEW alembic_version AS SELECT pg_temp.evil() AS version_num;
CREATE TEMP VIEW consent_records AS
  SELECT n FROM generate_series(1, 3) n WHERE n < pg_temp.leak();
SELECT check_name || ' | ' || status || ' | ' || summary FROM slo_run_checks(false) ORDER BY check_id;
}, extra_params => [ '-U', 'attacker', '-XAt' ]);
	return ($ret, $out, $err);
}

sub not_superuser
{
	my ($what) = @_;
	is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'attacker'"),
		'f', "$what: the attacker is still not superuser");
}

sub no_secret
{
	my ($what, $out, $err, $real_tables) = @_;
	my $stored = $node->safe_psql('postgres', q{
		SELECT string_agg(summary, ' / ') FROM (
		  SELECT summary FROM slo_result UNION ALL SELECT summary FROM slo_check_state
		  UNION ALL SELECT coalesce(summary, '') FROM slo_alert) s});
	unlike("$out $err $stored", qr/SCRAM-SHA-256|hash=|md5[0-9a-f]{32}/,
		"$what: no password hash in results, state, alerts or the output");
	unlike($stored, qr/003_consent/, "$what: nothing of the temp view lands in a summary")
	  unless $real_tables;
}

# --- the checked tables are missing: the temp views must not be found ---------

for my $stable (0, 1)
{
	my $what = $stable ? 'tables missing, STABLE leak' : 'tables missing';
	my ($ret, $out, $err) = attack($stable);
	is($ret, 0, "$what: the attacker's pass ran") or diag $err;
	not_superuser($what);
	no_secret($what, $out, $err);
	# (missing, or refused by name: either way the temp view is not read)
	like($out,
		qr/^alembic_head \| (fail \| Migration table alembic_version does not exist|error \| .*may not read temporary relation pg_temp_\d+\.alembic_version)/m,
		"$what: the migration check does not take the temp view for alembic_version");
	like($out,
		qr/^consent_records_present \| error \| .*may not read temporary relation pg_temp_\d+\.consent_records/m,
		"$what: the sql check refuses the temp view, naming it");
	like($out, qr/^critical_tables \| fail \| /m, "$what: table_exists does not count the temp view");
	like($out, qr/^consent_columns \| fail \| /m, "$what: columns_exist does not count the temp view");
}

# --- the checked tables exist: the real ones win over the temp views ---------

$node->safe_psql('postgres', q{
CREATE TABLE alembic_version (version_num text);
INSERT INTO alembic_version VALUES ('003_consent');
CREATE TABLE consent_records (n int);
INSERT INTO consent_records VALUES (1);
});
{
	my $what = 'tables present';
	my ($ret, $out, $err) = attack(0);
	is($ret, 0, "$what: the attacker's pass ran") or diag $err;
	not_superuser($what);
	no_secret($what, $out, $err, 1);
	like($out, qr/^alembic_head \| ok \| /m, "$what: the migration check reads the real table");
	like($out, qr/^consent_records_present \| ok \| Query returned 1,/m,
		"$what: the sql check counts the real table");
	like($out, qr/^critical_tables \| ok \| /m, "$what: table_exists finds the real table");
}

# A schema-qualified pg_temp name in a superuser's check is refused too.
$node->safe_psql('postgres', q{
SELECT slo_add_check('explicit_temp', 'sql', '{"query": "SELECT count(*) FROM pg_temp.consent_records"}');
});
{
	my ($ret, $out, $err) = attack(0);
	not_superuser('explicit pg_temp');
	like($out, qr/^explicit_temp \| error \| .*may not read temporary relation/m,
		'a check naming pg_temp explicitly is refused');
	no_secret('explicit pg_temp', $out, $err, 1);
}

# The caller's own temp objects keep working for the caller after the pass.
is( $node->safe_psql('postgres', q{
CREATE TEMP TABLE mine (x int);
INSERT INTO mine VALUES (5);
SELECT count(*) FROM slo_run_checks(false);
SELECT x FROM mine;}), "5\n5", 'the caller still reads its own temp table after a pass');

$node->stop;
done_testing();
