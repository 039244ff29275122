# Overlapping callers (worker, pg_cron, a hand call) never run the same check at once
# and never write a result twice: a check whose state row is locked by a running pass
# is skipped, and under concurrent load no two runs of one check overlap in time.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('overlap');
$node->init;
$node->append_conf('postgresql.conf', "slo_guard.enabled = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE TABLE users (id int);
	SELECT slo_add_check('t' || i, 'table_exists', '{"tables": ["users"]}', every => '1 second')
	  FROM generate_series(1, 50) i;
	SELECT slo_add_check('slow', 'sql', '{"query": "SELECT 1 FROM pg_sleep(0.02)"}', every => '1 second');
});

# A pass that has not committed yet holds its checks: another caller skips them.
my $a = $node->background_psql('postgres');
$a->query_safe('BEGIN');
my $n_a = $a->query_safe('SELECT count(*) FROM slo_run_checks(false)');
is($n_a, '51', 'session A ran all 51 checks (transaction still open)');
my $n_b = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_run_checks(false)');
is($n_b, '0', 'session B skipped every check A is running');
$a->query_safe('COMMIT');
$a->quit;
is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_result'), '51',
	'one result per check, none written twice');

# Hammer it: 4 clients calling slo_run_checks(false) in a loop; each call records
# how many checks it ran.
$node->safe_psql('postgres', 'CREATE TABLE passes (n bigint)');
my $script = $node->basedir . '/run.sql';
PostgreSQL::Test::Utils::append_to_file($script,
	"INSERT INTO passes SELECT count(*) FROM slo_run_checks(false);\n");
$node->command_ok(
	[ 'pgbench', '-n', '-c', '4', '-j', '2', '-t', '25', '-f', $script, '-d', $node->connstr('postgres') ],
	'4 concurrent callers, 100 passes, no error');

my $overlaps = $node->safe_psql('postgres', q{
	SELECT count(*) FROM (
	  SELECT check_id, at, at + duration_ms * interval '1 ms' AS until,
	         lead(at) OVER (PARTITION BY check_id ORDER BY at) AS next_at
	    FROM slo_result) r
	 WHERE next_at < until});
is($overlaps, '0', 'no two runs of one check overlap in time');
is($node->safe_psql('postgres', 'SELECT count(*), sum(n) FROM passes'),
	'100|' . ($node->safe_psql('postgres', 'SELECT count(*) FROM slo_result') - 51),
	'100 passes; every result a pass returned was stored once (none lost, none twice)');
cmp_ok($node->safe_psql('postgres', 'SELECT min(n) FROM passes'), '<', 51,
	'passes that overlapped skipped the checks another pass was running (rather than waiting and running them again)');
my $slow_runs = $node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE check_name = 'slow'");
cmp_ok($slow_runs, '<', 101, "the slow check ran $slow_runs times: at most once per pass");
cmp_ok($slow_runs, '>', 1, 'and more than once');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM slo_check_state WHERE last_run IS NULL OR status <> 'ok'"), '0',
	'state of every check written, all ok');

$node->stop;
done_testing();
