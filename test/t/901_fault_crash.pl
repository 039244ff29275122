# Issue 15, fault: the server crashes (stop('immediate'), twice) while results and
# alert transitions are being written: 40 fast checks every second at naptime
# 100 ms, half of them flapping (fail one second, ok the next), so alerts open and
# resolve all the time.  After each restart the invariants hold:
#   - no result is written twice (one row per check and run time);
#   - every alert event has its alert; per alert the events go firing, then at
#     most one resolved (never two firing events without a resolve between, nothing
#     after the resolve); a check has at most one open alert;
#   - the state row agrees with the history: its alert_id is the check's open
#     alert (or NULL when none is open), its status and last_run are those of the
#     check's newest result, and fail_streak is 0 after ok/warn, >= 1 after
#     fail/error;
#   - the worker is running and checks run again.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('fault_crash');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 100ms
slo_guard.max_workers = 3
restart_after_crash = on
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
SELECT slo_add_check('steady_' || i, 'table_exists', '{"tables": ["pg_class"]}', every => '1 second')
  FROM generate_series(1, 20) i;
-- fails in even seconds, ok in odd ones: alerts fire and resolve all the time
SELECT slo_add_check('flap_' || i, 'sql',
         '{"query": "SELECT extract(epoch FROM clock_timestamp())::int % 2", "fail_above": 0.5}',
         every => '1 second')
  FROM generate_series(1, 20) i;
});

sub invariants
{
	my ($label) = @_;
	my $dup = $node->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT check_id, at FROM slo_result GROUP BY 1, 2 HAVING count(*) > 1) d});
	is($dup, '0', "$label: no result written twice (check, at)");
	my $orphans = $node->safe_psql('postgres', q{
SELECT count(*) FROM slo_alert_event e WHERE NOT EXISTS (SELECT FROM slo_alert a WHERE a.id = e.alert_id)});
	is($orphans, '0', "$label: every alert event has its alert");
	my $bad_seq = $node->safe_psql('postgres', q{
SELECT count(*) FROM (
  SELECT alert_id, string_agg(event, ',' ORDER BY id) AS seq FROM slo_alert_event
   WHERE event IN ('firing', 'resolved') GROUP BY alert_id) s
 WHERE seq NOT IN ('firing', 'firing,resolved')});
	is($bad_seq, '0', "$label: per alert, one firing then at most one resolved");
	my $bad_state = $node->safe_psql('postgres', q{
SELECT count(*) FROM slo_alert a
 WHERE (a.state = 'firing') <> NOT EXISTS (SELECT FROM slo_alert_event e WHERE e.alert_id = a.id AND e.event = 'resolved')
    OR NOT EXISTS (SELECT FROM slo_alert_event e WHERE e.alert_id = a.id AND e.event = 'firing')});
	is($bad_state, '0', "$label: an alert is firing exactly when it has no resolved event, and it has its firing event");
	my $two_open = $node->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT check_id FROM slo_alert WHERE state = 'firing' GROUP BY 1 HAVING count(*) > 1) x});
	is($two_open, '0', "$label: at most one open alert per check");
	my $state = $node->safe_psql('postgres', q{
SELECT string_agg(c.name, ', ') FROM slo_check c JOIN slo_check_state s ON s.check_id = c.id
  LEFT JOIN LATERAL (SELECT status, at FROM slo_result r WHERE r.check_id = c.id ORDER BY at DESC LIMIT 1) r ON true
  LEFT JOIN slo_alert a ON a.check_id = c.id AND a.state = 'firing'
 WHERE s.alert_id IS DISTINCT FROM a.id
    OR s.status IS DISTINCT FROM r.status
    OR s.last_run IS DISTINCT FROM r.at
    OR (r.status IN ('ok', 'warn') AND s.fail_streak <> 0)
    OR (r.status IN ('fail', 'error') AND s.fail_streak < 1)});
	is($state, '', "$label: each state row agrees with its newest result and open alert");
}

sub worker_runs
{
	my ($label) = @_;
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
		"$label: the worker is running");
	my $before = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_result');
	ok($node->poll_query_until('postgres', "SELECT count(*) > $before + 40 FROM slo_result"),
		"$label: checks run again");
}

ok($node->poll_query_until('postgres', "SELECT count(*) >= 80 FROM slo_result"),
	'the checks run');
for my $round (1 .. 2)
{
	# Crash at a point in the middle of a second (results of the passes in flight).
	usleep(1_300_000 + 350_000 * $round);
	$node->stop('immediate');
	$node->start;
	invariants("crash $round");
	worker_runs("crash $round");
}
my $events = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_alert_event');
ok($events >= 10, "alert transitions were being written ($events events)");
# And a clean stop, after a last few seconds of flapping.
sleep 2;
$node->stop;
$node->start;
invariants('after a clean restart');
$node->stop;
done_testing();
