# Issue 9: a slow check does not delay a page.  A `sql` check taking 4 s is due
# every second beside a P0 table_exists check due every second; the worker
# (naptime 200 ms) keeps one run worker beside it (max_workers 2).  Dropping
# the P0's table while the slow check is running gives the firing NOTIFY
# within 1.5 s (it used to take ~6 s: the whole pass was one transaction).
# The slow check itself keeps running and recording its results.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('sched9_slow');
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
CREATE TABLE critical (id int);
SELECT slo_add_check('slow', 'sql', '{"query": "SELECT 1 FROM pg_sleep(4)"}', every => '1 second');
SELECT slo_add_check('p0', 'table_exists', '{"tables": ["critical"]}',
                     severity => 'P0', every => '1 second');
});

ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard runner'}),
	'the worker keeps one run worker (max_workers 2)');
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) >= 2 FROM slo_result WHERE check_name = 'p0'}),
	'the P0 check runs');

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard');

# Drop the table while the slow check sleeps in one of the two processes.
ok( $node->poll_query_until(
		'postgres', q{
SELECT count(*) = 1 FROM pg_stat_activity
 WHERE backend_type IN ('slo_guard', 'slo_guard runner') AND wait_event = 'PgSleep'}),
	'the slow check is running');
my $t0 = time();
my $dropped_at = $node->safe_psql('postgres', 'DROP TABLE critical; SELECT clock_timestamp()');

my ($seen, $latency) = ('', undef);
while (time() - $t0 < 10)
{
	$seen .= $listener->query_safe('SELECT 1');
	if ($seen =~ /Asynchronous notification "slo_guard" with payload "\{[^\n]*"event": ?"firing"[^\n]*"check": ?"p0"/)
	{
		$latency = time() - $t0;
		last;
	}
	usleep(20_000);
}
$listener->quit;
ok(defined $latency, 'the firing NOTIFY of the P0 check arrives');
$latency //= 99;
note sprintf('fault-to-NOTIFY latency beside a 4 s check: %.0f ms', $latency * 1000);
cmp_ok($latency, '<', 1.5, 'within 1.5 s of the drop, beside a 4-second check');

my $detect_ms = $node->safe_psql('postgres', qq{
SELECT round(extract(epoch FROM (fired_at - '$dropped_at'::timestamptz)) * 1000)
  FROM slo_alert WHERE check_name = 'p0'});
note "fault-to-alert (server clock): $detect_ms ms";
cmp_ok($detect_ms, '<=', 1200, "the alert fired within the check's every + 200 ms");

# The slow check goes on running, beside, with its results recorded.
my $slow = $node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE check_name = 'slow'");
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) > greatest($slow, 1) FROM slo_result WHERE check_name = 'slow'"),
	'the slow check keeps running');
is( $node->safe_psql('postgres', q{
SELECT count(*) FROM slo_result WHERE check_name = 'slow' AND status <> 'ok'}),
	'0', 'the slow check is never cut short');
# Each run takes 4 s: runs that never overlap start at least ~4 s apart.
is( $node->safe_psql('postgres', q{
SELECT bool_and(gap >= interval '3.9 seconds')
  FROM (SELECT at - lag(at) OVER (ORDER BY at) AS gap FROM slo_result WHERE check_name = 'slow') g
 WHERE gap IS NOT NULL}),
	't', 'the slow check never ran twice at once (in two processes)');

$node->stop;
done_testing();
