# The background worker on a live server: one worker per listed database,
# each serving its own checks; a broken table raises the `firing` NOTIFY with
# nobody calling slo_run_checks(); the worker survives pg_terminate_backend,
# a failing pass, CREATE/DROP EXTENSION, slo_guard.enabled = off and changes
# to slo_guard.database on reload.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('worker');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres, app'
});
$node->start;

# Worker pid serving a database ('' if none).
sub worker_pid
{
	my ($db) = @_;
	return $node->safe_psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard' AND datname = '$db'"
	);
}

# Read notifications from a LISTENing background psql until one matches.
sub wait_for_notification
{
	my ($session, $pattern) = @_;
	my $seen = '';
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		$seen .= $session->query_safe('SELECT 1');
		return $1 if $seen =~ $pattern;
		usleep(100_000);
	}
	diag "notifications seen: $seen";
	return undef;
}

# --- the launcher, and a database listed before it exists -------------------

ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard launcher'"),
	'launcher runs');
ok($node->poll_query_until('postgres', "SELECT '" . worker_pid('postgres') . "' <> ''"),
	'worker for postgres runs');
ok($node->log_contains(qr/database "app" listed in slo_guard.database does not exist/),
	'a listed database that does not exist is reported');

$node->safe_psql('postgres', 'CREATE DATABASE app');
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 2 AND bool_and(application_name = 'slo_guard')
  FROM pg_stat_activity
 WHERE backend_type = 'slo_guard' AND datname IN ('postgres', 'app')}),
	'one worker per listed database once the database is created, without a restart');

# --- each worker serves the extension of its own database --------------------

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}',
                     severity => 'P0', every => '1 second');
});
$node->safe_psql('app', q{
CREATE SCHEMA ops;
CREATE EXTENSION slo_guard SCHEMA ops;
CREATE TABLE orders (id int);
SELECT ops.slo_add_check('orders_table', 'table_exists', '{"tables": ["orders"]}',
                         every => '1 second');
});

ok( $node->poll_query_until(
		'postgres',
		"SELECT state = 'ok' FROM slo_status() WHERE name = 'critical_tables'"),
	'postgres: the worker runs its check');
ok( $node->poll_query_until(
		'app', "SELECT state = 'ok' FROM ops.slo_status() WHERE name = 'orders_table'"),
	'app: the worker runs its check (extension in another schema)');
is( $node->safe_psql('app',
		"SELECT count(*) FROM ops.slo_result WHERE check_name = 'critical_tables'"),
	'0',
	'app holds no result of the check of postgres');

# --- breaking what a check watches raises the NOTIFY, with no one calling ----

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard');
$node->safe_psql('postgres', 'DROP TABLE users');
my $payload = wait_for_notification($listener,
	qr/Asynchronous notification "slo_guard" with payload "(\{[^\n]*"event": ?"firing"[^\n]*\})" received/
);
ok(defined $payload, 'firing NOTIFY received from the worker');
like($payload, qr/"check": ?"critical_tables"/, 'payload names the check');
like($payload, qr/"severity": ?"P0"/,           'payload carries the severity');
like($payload, qr/"database": ?"postgres"/,     'payload names the database');
is( $node->safe_psql('postgres',
		"SELECT state FROM slo_alert WHERE check_name = 'critical_tables'"),
	'firing',
	'alert is open');
is($node->safe_psql('app', "SELECT state FROM ops.slo_status()"),
	'ok', 'the other database is not affected');

# --- pg_terminate_backend: the worker comes back and carries on --------------

my $pid = worker_pid('postgres');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'slo_guard' AND datname = 'postgres' AND pid <> } . $pid),
	'terminated worker is restarted');
$node->safe_psql('postgres', 'CREATE TABLE users (id int)');
$payload = wait_for_notification($listener,
	qr/Asynchronous notification "slo_guard" with payload "(\{[^\n]*"event": ?"resolved"[^\n]*\})" received/
);
ok(defined $payload, 'the restarted worker resolves the alert (resolved NOTIFY)');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_alert WHERE check_name = 'critical_tables' AND state = 'firing'"
	),
	'0',
	'no alert left open');
$listener->quit;

# --- a failing pass is reported and retried; the worker does not die ---------

$pid = worker_pid('postgres');
my $offset = -s $node->logfile;
$node->safe_psql('postgres', 'ALTER TABLE slo_check_state RENAME TO slo_check_state_away');
ok($node->wait_for_log(qr/slo_guard worker for database "postgres": pass failed, retrying/, $offset),
	'a failing pass is logged');
$node->safe_psql('postgres', 'ALTER TABLE slo_check_state_away RENAME TO slo_check_state');
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
ok( $node->poll_query_until(
		'postgres',
		"SELECT last_run > '$t0' FROM slo_status() WHERE name = 'critical_tables'"),
	'checks resume once the table is back');
is(worker_pid('postgres'), $pid, 'the same worker process carried on');

# --- slo_guard.enabled = off pauses the worker -------------------------------

$node->safe_psql('postgres', 'ALTER SYSTEM SET slo_guard.enabled = off');
$node->reload;
ok( $node->poll_query_until(
		'postgres', q{
SELECT query = 'slo_guard: paused (slo_guard.enabled is off)' FROM pg_stat_activity
 WHERE backend_type = 'slo_guard' AND datname = 'postgres'}),
	'worker reports itself paused');
my $last = $node->safe_psql('postgres',
	"SELECT last_run FROM slo_status() WHERE name = 'critical_tables'");
usleep(2_500_000);    # a few periods of the 1-second check
is( $node->safe_psql(
		'postgres', "SELECT last_run FROM slo_status() WHERE name = 'critical_tables'"),
	$last,
	'no check runs while paused');
$node->safe_psql('postgres', 'ALTER SYSTEM RESET slo_guard.enabled');
$node->reload;
ok( $node->poll_query_until(
		'postgres',
		"SELECT last_run > '$last' FROM slo_status() WHERE name = 'critical_tables'"),
	'checks run again once enabled');

# --- DROP and CREATE EXTENSION under a running worker ------------------------

$pid = worker_pid('app');
$offset = -s $node->logfile;
$node->safe_psql('app', 'DROP EXTENSION slo_guard');
ok( $node->wait_for_log(qr/slo_guard extension dropped from database "app"; worker waiting/,
		$offset),
	'worker notices DROP EXTENSION');
$node->safe_psql('app', q{
CREATE EXTENSION slo_guard;
SELECT slo_add_check('orders_again', 'table_exists', '{"tables": ["orders"]}', every => '1 second');
});
ok( $node->poll_query_until(
		'app', "SELECT state = 'ok' FROM slo_status() WHERE name = 'orders_again'"),
	'worker picks up the re-created extension (now in public)');
is(worker_pid('app'), $pid, 'same worker process throughout');
# By the worker's pid (log_line_prefix has %p), and by its CONTEXT line wherever it
# falls (an SPI error logs a QUERY line between ERROR and CONTEXT).
ok( !$node->log_contains(
		qr/\[$pid\] (?:ERROR|FATAL|WARNING):|CONTEXT:  slo_guard worker for database "app"|database "app": pass failed/,
		$offset),
	'no errors from the worker while the extension was away');

# --- slo_guard.database changed on reload ------------------------------------

$node->safe_psql('postgres', "ALTER SYSTEM SET slo_guard.database = 'postgres'");
$node->reload;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 0 FROM pg_stat_activity WHERE backend_type = 'slo_guard' AND datname = 'app'"
	),
	'worker exits when its database leaves the list');
ok($node->poll_query_until('postgres', "SELECT '" . worker_pid('postgres') . "' <> ''"),
	'the other worker stays');
$node->safe_psql('postgres', "ALTER SYSTEM SET slo_guard.database = 'postgres,app'");
$node->reload;
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard' AND datname = 'app'"
	),
	'a database added to the list gets its worker on reload');

# A bad value is refused with an explanation.
my ($ret, $stdout, $stderr) = $node->psql('postgres',
	"ALTER SYSTEM SET slo_guard.database = 'postgres,postgres'");
like($stderr, qr/Database "postgres" is listed twice/, 'check hook explains a bad list');

# --- a restarted launcher adopts the running workers -------------------------

my $launcher = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard launcher'");
$node->safe_psql('postgres', "SELECT pg_terminate_backend($launcher)");
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'slo_guard launcher' AND pid <> $launcher}),
	'launcher is restarted');
$pid = worker_pid('postgres');
$node->safe_psql('postgres', "SELECT pg_terminate_backend($pid)");
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type = 'slo_guard' AND datname = 'postgres' AND pid <> $pid}),
	'a worker started by the previous launcher is restarted by the new one');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'2',
	'still exactly one worker per database');

# --- DROP DATABASE ... WITH (FORCE) stops its worker for good -----------------

$offset = -s $node->logfile;
$node->safe_psql('postgres', 'DROP DATABASE app WITH (FORCE)');
ok( $node->wait_for_log(
		qr/database "app" listed in slo_guard.database does not exist/, $offset),
	'launcher notices the database is gone');
# A wrong restart would come after the restart delay (5 s) or at the launcher's
# next look (every 10 s): wait past both before saying it did not happen.
sleep(11);
ok(!$node->log_contains(qr/FATAL:  database \d+ does not exist/, $offset),
	'the worker of the dropped database is not restarted');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'slo_guard' AND datname IS DISTINCT FROM 'postgres'"),
	'0', 'no worker for the dropped database');

$node->stop;
done_testing();
