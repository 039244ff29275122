# Overlapping callers (worker, pg_cron, a hand call) never run the same check at once
# and never write a result twice: a check whose state row is locked by a running pass
# is skipped by a due run and waited for by an explicit run (bounded by its timeout),
# and under concurrent load no two runs of one check overlap in time.
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

# A pass that has not committed yet holds its checks.  A due run (the worker,
# pg_cron) passes over them; an explicit run (only_due => false) waits for
# each, bounded by its timeout, and then runs it: it never skips silently.
my $a = $node->background_psql('postgres');
$a->query_safe('BEGIN');
my $n_a = $a->query_safe('SELECT count(*) FROM slo_run_checks(false)');
is($n_a, '51', 'session A ran all 51 checks (transaction still open)');
my $n_due = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_run_checks()');
is($n_due, '0', 'a due run (only_due) passes over every check A is running');
my ($rc, $out, $err) = $node->psql('postgres', q{
	SET slo_guard.check_timeout = '300ms';
	SELECT count(*) FILTER (WHERE status = 'error'
	         AND summary LIKE 'Check is still running in another session after 0.3 s%'
	         AND id IS NULL), count(*)
	  FROM slo_run_checks(false)});
is($out, '51|51', 'an explicit run while A holds every check: one error per check ("still running in another session"), none skipped, none stored')
  or diag($err);
my $b = $node->background_psql('postgres');
$b->query_until(qr/started/, q{
	\echo started
	CREATE TABLE b_got AS SELECT check_name, status, id FROM slo_run_checks(false);
	\echo done
});
sleep 1;
$a->query_safe('COMMIT');
$a->quit;
$b->query_until(qr/done/, '');
$b->quit;
is($node->safe_psql('postgres', q{SELECT count(*), count(id), count(*) FILTER (WHERE status = 'ok') FROM b_got}),
	'51|51|51', 'an explicit run waiting for A got every check once A committed, ran it and stored its result');
is($node->safe_psql('postgres', 'SELECT count(*), count(DISTINCT check_id) FROM slo_result'), '102|51',
	'two results per check (A, then B), none written twice');
$node->safe_psql('postgres', 'TRUNCATE slo_result');

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
	'100|' . $node->safe_psql('postgres', 'SELECT count(*) FROM slo_result'),
	'100 passes; every result a pass returned was stored once (none lost, none twice)');
is($node->safe_psql('postgres', 'SELECT min(n), max(n) FROM passes'), '51|51',
	'every explicit pass returned all 51 checks, also while others overlapped it (none skipped)');
my $slow_runs = $node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE check_name = 'slow'");
is($slow_runs, '100', 'the slow check ran exactly once per pass');
is($node->safe_psql('postgres',
	"SELECT count(*) FROM slo_check_state WHERE last_run IS NULL OR status <> 'ok'"), '0',
	'state of every check written, all ok');

$node->stop;
done_testing();
