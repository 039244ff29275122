# Issue 9: the worker's own bookkeeping waits for locks with a bound.  A
# `LOCK TABLE slo_check_state` held for a while gives a log line naming the
# relation and who holds it (after the bound: 5 naptimes, at least 1 s), the
# worker retries with a back-off and carries on once the lock is gone, as the
# same process.  The bound is the worker's, not the checks': a check that
# waits for a lock on a user table longer than that still runs to its end.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('sched9_lock');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 200ms
slo_guard.max_workers = 2
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE app_data (id int);
SELECT slo_add_check('tables', 'table_exists', '{"tables": ["pg_class"]}', every => '1 second');
});
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'ok' FROM slo_status() WHERE name = 'tables'"),
	'the worker runs the check');
my $worker = $node->safe_psql('postgres',
	"SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard'");

# --- LOCK TABLE slo_check_state: a log line, not a silent stall ----------------
my $offset = -s $node->logfile;
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE slo_check_state');
my $locker_pid = $locker->query_safe('SELECT pg_backend_pid()');
chomp $locker_pid;
my $t0 = time();
ok( $node->wait_for_log(
		qr/slo_guard (?:worker|runner) for database "postgres": job "checks" waited 1000 ms for a lock on relation public\.slo_check_state, held by PID $locker_pid \(AccessExclusiveLock\); retrying in \d+ ms/,
		$offset),
	'the log names the relation waited for and who holds it');
my $waited = time() - $t0;
note sprintf('log line %.1f s after LOCK TABLE', $waited);
cmp_ok($waited, '<', 4, 'within a few seconds (the bound is 1 s at naptime 200 ms)');
# It retries (after its back-off) and says so again while the lock is held.
my $offset2 = -s $node->logfile;
ok($node->wait_for_log(qr/job "checks" waited 1000 ms for a lock on relation public\.slo_check_state/, $offset2),
	'it retries while the lock is held');
$locker->query_safe('COMMIT');
my $last = $node->safe_psql('postgres', 'SELECT now()');
ok( $node->poll_query_until(
		'postgres', "SELECT last_run > '$last' FROM slo_status() WHERE name = 'tables'"),
	'checks resume once the lock is released');
is( $node->safe_psql('postgres', "SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	$worker, 'the same worker process carried on');
ok(!$node->log_contains(qr/pass failed|canceling statement due to lock timeout/, $offset),
	'no failed pass and no bare lock-timeout error in the log');

# --- the bound is not the checks': a check waiting for a lock longer than 1 s runs to its end
# (the lock is held 2.5 s; the check is due every second, so one run waits at least 1.5 s)
$node->safe_psql('postgres', q{
SELECT slo_add_check('reads_app', 'sql', '{"query": "SELECT count(*) FROM app_data"}',
                     every => '1 second');
});
ok( $node->poll_query_until(
		'postgres', "SELECT status = 'ok' FROM slo_status() WHERE name = 'reads_app'"),
	'the check reading a user table runs');
$locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN');
$locker->query_safe('LOCK TABLE app_data');
my $locked_at = $locker->query_safe('SELECT clock_timestamp()');
chomp $locked_at;
usleep(2_500_000);
$locker->query_safe('COMMIT');
$locker->quit;
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) > 0 FROM slo_result
 WHERE check_name = 'reads_app' AND at > '$locked_at' AND status = 'ok' AND duration_ms > 1100}),
	'a check that waited more than the 1 s bound for a user lock recorded ok');
is( $node->safe_psql('postgres', qq{
SELECT count(*) FROM slo_result WHERE check_name = 'reads_app' AND status = 'error'}),
	'0', 'and no check was cut short by the worker\'s lock bound');

$node->stop;
done_testing();
