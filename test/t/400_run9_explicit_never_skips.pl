# Issue 9: an explicit run (slo_run_checks(false)) never skips a check silently.
# With the worker on at naptime 100 ms, slo_add_check wakes it at commit and it
# claims the new check at once; an explicit run right after used to skip it
# (9 of 15 calls returned no row for it).  Now it waits for the worker's run
# (bounded by the check's timeout) and runs the check itself: every one of 20
# calls returns the new check's result, stored, and no check runs twice at once.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('run9_explicit');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = '100ms'
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE TABLE t (id int);
	-- keeps the worker's passes busy for a while, so that its claims overlap ours
	SELECT slo_add_check('busy', 'sql', '{"query": "SELECT 1 FROM pg_sleep(0.05)"}', every => '1 second');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) > 0 FROM slo_result WHERE check_name = 'busy'"), 'the worker runs checks');

my $s = $node->background_psql('postgres');
my $got = 0;
for my $i (1 .. 20)
{
	$s->query_safe("SELECT slo_add_check('n$i', 'table_exists', '{\"tables\": [\"t\"]}', every => '1 second')");
	my $r = $s->query_safe(
		"SELECT count(*) FILTER (WHERE check_name = 'n$i' AND status = 'ok' AND id IS NOT NULL) FROM slo_run_checks(false)");
	$got++ if $r eq '1';
}
$s->quit;
is($got, 20, 'each of 20 explicit runs right after adding a check returned its result');

my $worker_too = $node->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT check_name FROM slo_result WHERE check_name ~ '^n[0-9]+$'
	                       GROUP BY 1 HAVING count(*) > 1) x});
note("checks the worker also ran right away: $worker_too of 20");

my $overlaps = $node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  SELECT check_id, at, at + duration_ms * interval '1 ms' AS until,
	         lead(at) OVER (PARTITION BY check_id ORDER BY at) AS next_at
	    FROM slo_result) r
	 WHERE next_at < until});
is($overlaps, '0', 'no two runs of one check overlapped');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM slo_status() WHERE name ~ '^n[0-9]+$' AND state = 'ok'}), '20',
	'every new check is ok in slo_status(), none unknown');
unlike(slurp_file($node->logfile), qr/deadlock detected/, 'no deadlock between the worker and the explicit runs');

$node->stop;
done_testing();
