# Issue 9: `kill -9` of a run worker in the middle of a check.  The postmaster
# crash-restarts the server; the launcher holds the workers back 5 s (the
# crash back-off of test 122); then the worker and its run worker come back,
# the check runs again, and nothing was written twice: the killed run's claim
# went with its transaction, no result and no alert event is duplicated, and
# the state agrees with the history.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('sched9_kill');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 200ms
slo_guard.max_workers = 2
restart_after_crash = on
});
$node->start;

# Two failing checks that take 1.5 s each (so they have open alerts), due every
# second: both processes are kept busy, so a run worker is soon inside one.
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
SELECT slo_add_check('sleepy', 'sql', '{"query": "SELECT 5 FROM pg_sleep(1.5)", "fail_above": 1}',
                     severity => 'P1', every => '1 second');
SELECT slo_add_check('sleepy2', 'sql', '{"query": "SELECT 5 FROM pg_sleep(1.5)", "fail_above": 1}',
                     severity => 'P1', every => '1 second');
SELECT slo_add_check('quick', 'table_exists', '{"tables": ["pg_class"]}', every => '1 second');
});
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 2 FROM slo_status() WHERE name LIKE 'sleepy%' AND state = 'firing'"),
	'the slow failing checks fire');

# Wait until a run worker (not the per-database worker) is inside the check.
my $runner = '';
my $deadline = time() + 30;
while (time() < $deadline)
{
	$runner = $node->safe_psql('postgres', q{
SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard runner' AND wait_event = 'PgSleep'});
	last if $runner =~ /^\d+$/;
	usleep(50_000);
}
like($runner, qr/^\d+$/, 'a run worker is running the slow check');
my $before = $node->safe_psql('postgres', q{SELECT count(*) FROM slo_result WHERE check_name LIKE 'sleepy%'});
kill 'KILL', $runner;

# The server crash-restarts; the launcher waits 5 s before starting the workers.
ok($node->poll_query_until('postgres', 'SELECT 1', '1'), 'the server is back after the crash-restart');
ok( $node->poll_query_until(
		'postgres', qq{
SELECT count(*) FILTER (WHERE backend_type = 'slo_guard') = 1
   AND count(*) FILTER (WHERE backend_type = 'slo_guard runner' AND pid <> $runner) = 1
  FROM pg_stat_activity}),
	'the worker and its run worker are back');
ok($node->log_contains(qr/all server processes terminated; reinitializing/), 'the server crash-restarted');
ok($node->log_contains(qr/restarted after a crash \(1 in a row\); starting workers in 5 s/),
	'the launcher held the workers back (crash back-off)');
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) >= $before + 2 FROM slo_result WHERE check_name LIKE 'sleepy%'"),
	'the checks run again');

# Nothing written twice, and the state agrees with the history.
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT check_id, at FROM slo_result GROUP BY 1, 2 HAVING count(*) > 1) d}),
	'0', 'no result written twice');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT alert_id, event, at FROM slo_alert_event GROUP BY 1, 2, 3 HAVING count(*) > 1) d}),
	'0', 'no alert event written twice');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
 WHERE a.check_name LIKE 'sleepy%' AND e.event = 'firing'}),
	'2', 'the still-failing checks fired once each, not again after the crash');
is( $node->safe_psql('postgres', q{
SELECT bool_and(s.alert_id IS NOT DISTINCT FROM
                (SELECT a.id FROM slo_alert a WHERE a.check_id = c.id AND a.state <> 'resolved'))
   AND bool_and(s.last_run >= (SELECT max(r.at) FROM slo_result r WHERE r.check_id = c.id))
  FROM slo_check c JOIN slo_check_state s ON s.check_id = c.id}),
	't', 'each check state points at its open alert and is as new as its history');

$node->stop;
done_testing();
