# Guards (issue 14) on a live server, the worker on: a LISTENing session sees the
# firing NOTIFY of a guarded check when the migration that broke it COMMITs (not
# before), nothing when it rolls back (state unchanged); a non-superuser migration
# role in one Alembic-style transaction; "block" refuses with SG001 and the table and
# column stay; unrelated DDL runs no check; DROP EXTENSION slo_guard and CREATE
# EXTENSION (its own script's DDL) run none either.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('guard');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = '200ms'
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE ROLE check_admin;
	CREATE ROLE migrator LOGIN;
	CREATE SCHEMA app AUTHORIZATION migrator;
	SET ROLE migrator;
	CREATE TABLE app.users (id int);
	CREATE TABLE app.consent (id int, notification_consent_granted bool, note text);
	CREATE TABLE app.audit (id int);
	CREATE TABLE app.alembic_version (version_num text);
	INSERT INTO app.alembic_version VALUES ('003');
	RESET ROLE;
	GRANT USAGE ON SCHEMA app TO check_admin;
	CREATE EXTENSION slo_guard;
	GRANT EXECUTE ON FUNCTION slo_add_check(text, text, jsonb, text, interval, integer, jsonb)
	   TO check_admin;
	SET ROLE check_admin;
	SELECT slo_add_check('critical_tables', 'table_exists',
	  '{"tables": ["app.users"], "guard": true}', severity => 'P0', every => '1 hour');
	SELECT slo_add_check('pipeda_consent', 'columns_exist',
	  '{"table": "app.consent", "columns": ["notification_consent_granted"], "guard": true}',
	  severity => 'P1', every => '1 hour');
	SELECT slo_add_check('audit_kept', 'table_exists',
	  '{"tables": ["app.audit"], "guard": "block"}', every => '1 hour');
	RESET ROLE;
});

# the worker's first pass (the checks were due when added): all ok
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 3 FROM slo_status() WHERE state = 'ok'"),
	'the worker ran the three guarded checks once: ok');

sub results
{
	return $node->safe_psql('postgres', "SELECT count(*) FROM slo_result");
}

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard');

# Notifications seen by the listener within $secs seconds.
sub notifications
{
	my ($secs) = @_;
	my $seen = '';
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		$seen .= $listener->query_safe('SELECT 1');
		last if $seen =~ /Asynchronous notification/;
		usleep(100_000);
	}
	return $seen;
}

my $mig = $node->background_psql('postgres', on_error_stop => 0,
	extra_params => [ '-U', 'migrator' ]);
is($mig->query_safe('SELECT current_user'), 'migrator', 'the migration runs as a non-superuser');

# --- rolled back: nothing sent, state unchanged ------------------------------
my $before = results();
$mig->query_safe('BEGIN');
$mig->query_safe('DROP TABLE app.users');
$mig->query_safe('ROLLBACK');
unlike(notifications(1.5), qr/Asynchronous notification/, 'rolled back: no NOTIFY');
is($node->safe_psql('postgres', "SELECT state FROM slo_status() WHERE name = 'critical_tables'"),
	'ok', 'rolled back: state unchanged');
is(results(), $before, 'rolled back: no result kept');

# --- committed: the NOTIFY arrives at COMMIT, naming the table ---------------
$mig->query_safe('BEGIN');
$mig->query_safe('DROP TABLE app.users');
unlike(notifications(1), qr/Asynchronous notification/, 'nothing is sent before COMMIT');
$mig->query_safe('COMMIT');
my $seen = notifications(10);
like($seen, qr/Asynchronous notification "slo_guard" with payload "[^\n]*"event": ?"firing"[^\n]*"check": ?"critical_tables"[^\n]*app\.users/,
	'COMMIT: the firing NOTIFY names the check and the table');
is($node->safe_psql('postgres', "SELECT state FROM slo_status() WHERE name = 'critical_tables'"),
	'firing', 'the alert is open');

# --- Alembic-style: several DDL in one transaction ---------------------------
$mig->query_safe(q{BEGIN;
	CREATE TABLE app.preferences (id int);
	ALTER TABLE app.consent ADD COLUMN marketing bool;
	ALTER TABLE app.consent DROP COLUMN notification_consent_granted;
	UPDATE app.alembic_version SET version_num = '004';
	COMMIT});
$seen = notifications(10);
like($seen, qr/"check": ?"pipeda_consent"[^\n]*notification_consent_granted/,
	'a dropped consent column in a multi-statement migration pages at its commit');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'pipeda_consent' AND r.status = 'fail'"),
	'1', 'the columns check ran once for the migration\'s commands that touched its table');

# --- block: refused with SG001, the migration rolls back ---------------------
$mig->query('BEGIN');
$mig->query('ALTER TABLE app.audit ADD COLUMN extra int');
$mig->query('DROP TABLE app.audit');
like($mig->{stderr}, qr/guarded check "audit_kept" refuses DROP TABLE on app\.audit/,
	'block: the error names the check and the table');
$mig->{stderr} = '';
$mig->query_safe('ROLLBACK');
is($node->safe_psql('postgres', q{
	SELECT to_regclass('app.audit') IS NOT NULL,
	       (SELECT count(*) FROM pg_attribute WHERE attrelid = 'app.audit'::regclass AND attname = 'extra')}),
	't|0', 'block: the table is still there and the whole migration rolled back');
my ($ret, $stdout, $stderr) = $node->psql('postgres', 'DROP TABLE app.audit',
	extra_params => [ '-v', 'VERBOSITY=verbose', '-U', 'migrator' ]);
like($stderr, qr/ERROR:  SG001: guarded check "audit_kept"/, 'block: SQLSTATE SG001');
like($stderr, qr/HINT:  .*drop the check .* or alter it/, 'block: the hint says to drop or alter the check first');

# --- a guard added by another session reaches a session that already ran DDL --
$mig->query_safe('CREATE TABLE app.late (id int)');
$node->safe_psql('postgres', q{
	GRANT SELECT ON slo_result TO migrator;
	SELECT slo_add_check('late_guard', 'table_exists', '{"tables": ["app.late"], "guard": true}',
	                     every => '1 hour')});
is( $mig->query_safe(q{BEGIN; DROP TABLE app.late;
	SELECT status FROM slo_result WHERE check_name = 'late_guard' ORDER BY id DESC LIMIT 1;
	COMMIT}),
	'fail', 'a guard another session added is seen by a migration session that ran DDL before');

# --- unrelated DDL runs no check ---------------------------------------------
$before = results();
$mig->query_safe('CREATE TABLE app.scratch (id int); ALTER TABLE app.scratch ADD COLUMN x int; DROP TABLE app.scratch');
is(results(), $before, 'unrelated DDL ran no check');

# --- the extension's own DDL --------------------------------------------------
$listener->quit;
$mig->quit;
$node->safe_psql('postgres', 'DROP EXTENSION slo_guard');
is($node->safe_psql('postgres',
		"SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'slo_guard%'"),
	'0', 'DROP EXTENSION slo_guard works and takes its event triggers');
$node->safe_psql('postgres', q{CREATE EXTENSION slo_guard VERSION '1.0'});
$node->safe_psql('postgres', 'ALTER EXTENSION slo_guard UPDATE');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_event_trigger WHERE evtname LIKE 'slo_guard%'"),
	'2', 'the 1.0 -> 1.1 update creates both event triggers');
$node->safe_psql('postgres', q{SELECT slo_add_check('t', 'table_exists', '{"tables": ["app.consent"], "guard": true}', every => '1 hour')});
is($node->safe_psql('postgres', 'ALTER TABLE app.consent RENAME TO consent2; SELECT status FROM slo_result ORDER BY id DESC LIMIT 1'),
	'fail', 'a check made a guard after the update is re-run by a rename');

ok(!$node->log_contains(qr/TRAP|server process .* was terminated/), 'no crash');
$node->stop;
done_testing();
