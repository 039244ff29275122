# Issue 15, faults: a check that errors on every pass, and one that hangs past its
# timeout on every pass.
#   - 1,000 passes of a check that errors (division by zero) log it once: the
#     first error of a streak is logged, the later ones are only results; after
#     an ok result the next error is logged again;
#   - a check sleeping 30 s every second with slo_guard.check_timeout = 1s is
#     recorded as timed out at each run, while a fast check every second keeps
#     running on time beside it (run workers), and the worker survives.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('fault_errors');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 100ms
slo_guard.check_timeout = 1s
slo_guard.max_workers = 3
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE divisor (d int);
INSERT INTO divisor VALUES (0);
});

sub count_in_log
{
	my ($re) = @_;
	my @n = (slurp_file($node->logfile) =~ /$re/g);
	return scalar(@n);
}

# --- an error on every pass ---------------------------------------------------
# every '1 year' keeps the worker off it: the 1,000 passes are explicit runs.
$node->safe_psql('postgres', q{
SELECT slo_add_check('always_error', 'sql', '{"query": "SELECT 1 / d FROM divisor"}', every => '1 year');
});
my $statuses = $node->safe_psql('postgres', q{
CREATE TEMP TABLE seen (status text);
DO $$
BEGIN
  FOR i IN 1..1000 LOOP
    INSERT INTO seen SELECT status FROM slo_run_checks(false) WHERE check_name = 'always_error';
  END LOOP;
END $$;
SELECT status || ' ' || count(*) FROM seen GROUP BY status;
});
is($statuses, 'error 1000', '1,000 passes, each an error result');
# (plus the one run the worker made when the check was added: it is due at once)
like($node->safe_psql('postgres', q{SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'always_error'}),
	qr/^100[01]$/, 'each stored');
is(count_in_log(qr/slo_guard check "always_error" is in error: .*division by zero/), 1,
	'the error is logged once, not 1,000 times');

# ok once, then in error again: logged a second time
$node->safe_psql('postgres', q{
UPDATE divisor SET d = 1;
SELECT count(*) FROM slo_run_checks(false);
UPDATE divisor SET d = 0;
SELECT count(*) FROM slo_run_checks(false);
SELECT count(*) FROM slo_run_checks(false);
});
is(count_in_log(qr/slo_guard check "always_error" is in error/), 2,
	'after an ok result, the next error is logged again (once)');

# The same from the worker: every second for 4 s, one more log line at most.
$node->safe_psql('postgres', q{
SELECT slo_add_check('worker_error', 'sql', '{"query": "SELECT 1 / d FROM divisor"}', every => '1 second');
});
ok($node->poll_query_until('postgres', q{
SELECT count(*) >= 4 FROM slo_result r JOIN slo_check c ON c.id = r.check_id
 WHERE c.name = 'worker_error' AND r.status = 'error'}), 'the worker runs the failing check 4 times');
is(count_in_log(qr/slo_guard check "worker_error" is in error/), 1, 'and logs it once');
$node->safe_psql('postgres', q{SELECT slo_drop_check('worker_error'), slo_drop_check('always_error')});

# --- a check that hangs past its timeout on every pass ------------------------
$node->safe_psql('postgres', q{
SELECT slo_add_check('hangs', 'sql', '{"query": "SELECT 1 FROM pg_sleep(30)"}', every => '1 second');
SELECT slo_add_check('fast', 'table_exists', '{"tables": ["pg_class"]}', every => '1 second');
});
my $t0 = $node->safe_psql('postgres', 'SELECT now()');
sleep 7;
my $timeouts = $node->safe_psql('postgres', qq{
SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id
 WHERE c.name = 'hangs' AND r.status = 'error' AND r.summary ILIKE '%time%' AND r.at >= '$t0'});
ok($timeouts >= 3, "the hanging check is recorded as timed out at each run ($timeouts in 7 s)");
my $maxdur = $node->safe_psql('postgres', q{
SELECT max(duration_ms) FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'hangs'});
ok($maxdur < 3000, "each hanging run is cut at about its timeout (longest $maxdur ms)");
my ($fast_runs, $max_gap) = split /\|/, $node->safe_psql('postgres', qq{
SELECT count(*), coalesce(extract(epoch FROM max(gap)), 99) FROM (
  SELECT r.at - lag(r.at) OVER (ORDER BY r.at) AS gap FROM slo_result r JOIN slo_check c ON c.id = r.check_id
   WHERE c.name = 'fast' AND r.at >= '$t0') g});
ok($fast_runs >= 5, "the fast check kept running beside it ($fast_runs runs in 7 s)");
ok($max_gap < 2.5, "on time: its longest gap between runs is ${max_gap} s (every 1 s)");
ok( $node->poll_query_until('postgres',
		"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'the worker is running');
ok(!$node->log_contains(qr/terminated by signal|TRAP:|PANIC/), 'no crash in the log');
is(count_in_log(qr/slo_guard check "hangs" is in error/), 1, 'the timed-out check is logged once');

$node->stop;
done_testing();
