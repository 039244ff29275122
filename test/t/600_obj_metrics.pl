# Objectives with the worker on, and Prometheus: the worker's passes write the
# rollups (equal to the counts over the stored results); slo_metrics() passes
# `promtool check metrics` with a check name holding a quote, a backslash and a
# newline; the real prometheus-postgres-exporter, given the shipped
# contrib/postgres_exporter_queries.yaml, serves the same figures on 127.0.0.1.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use File::Temp qw(tempfile);
use IPC::Run;
use Time::HiRes qw(usleep time);
use FindBin;

my $queries = "$FindBin::RealBin/../../contrib/postgres_exporter_queries.yaml";
ok(-r $queries, 'the queries file ships with the source');

my $node = PostgreSQL::Test::Cluster->new('objmetrics');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = '200ms'
});
$node->start;
$node->safe_psql(
	'postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE lat (v float8);
INSERT INTO lat VALUES (100);
BEGIN;  -- one transaction: the worker sees no result of the check before the objective
SELECT slo_add_check(E'api "p95" \\\\ latency', 'sql',
                     '{"query": "SELECT v FROM lat", "fail_above": 1000}', every => '1 second');
SELECT slo_add_objective('api_p95', E'api "p95" \\\\ latency', 0.95, good_below => 400);
COMMIT;
});

# ---- the worker writes rollups with its results ----
sub within
{
	my ($secs, $query) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql('postgres', $query) eq 't';
		usleep(100_000);
	}
	return 0;
}
ok(within(20, q{SELECT coalesce(sum(total), 0) >= 3 FROM slo_objective_minute}),
	'the worker counted results into the rollups');
$node->safe_psql('postgres', 'UPDATE lat SET v = 500');
ok(within(20, q{SELECT coalesce(sum(total) - sum(good), 0) >= 2 FROM slo_objective_minute}),
	'values over good_below are counted as bad');
# results and rollups are written in one transaction: one snapshot sees both or neither
my $cmp = $node->safe_psql(
	'postgres', q{
SELECT (SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id
         WHERE c.kind = 'sql')
       || ' ' || (SELECT sum(total) FROM slo_objective_minute)
       || ' ' || (SELECT sum(total) FROM slo_objective_hour)
       || ' ' || (SELECT count(*) FILTER (WHERE r.status IN ('ok', 'warn') AND r.value <= 400)
                    FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.kind = 'sql')
       || ' ' || (SELECT sum(good) FROM slo_objective_minute)});
my @n = split / /, $cmp;
is($n[1], $n[0], "minute rollups total = stored results ($n[0])");
is($n[2], $n[0], 'hour rollups total = stored results');
is($n[4], $n[3], "good = ok results at or under 400 ($n[3])");
ok(within(20, q{SELECT count(*) > 0 FROM slo_result r JOIN slo_check c ON c.id = r.check_id
                 WHERE c.name = 'objective:api_p95'}),
	'the worker runs the objective\'s check');

# ---- slo_metrics() through promtool ----
# slo_add_check refuses control characters; a row restored from an older dump may
# hold one, so the exposition must escape it.
my $renamed = $node->safe_psql('postgres',
	q{UPDATE slo_check SET name = name || E'\nsecond line' WHERE kind = 'sql' RETURNING clock_timestamp()});
ok(within(20, qq{SELECT count(*) > 0 FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id
                 WHERE c.kind = 'sql' AND s.last_run > '$renamed'}),
	'the renamed check ran again');
my $metrics = $node->safe_psql('postgres', 'SELECT slo_metrics()') . "\n";
like($metrics, qr/^slo_guard_check_state\{check="api \\"p95\\" \\\\ latency\\nsecond line",kind="sql",severity="P2",state="\w+"\} 1$/m,
	'check label escaped: quote, backslash, newline');
like($metrics, qr/^slo_guard_objective_target_ratio\{objective="api_p95",check="api \\"p95\\" \\\\ latency\\nsecond line"\} 0\.95$/m,
	'objective target');
like($metrics, qr/^slo_guard_objective_burn_rate\{objective="api_p95",.*window="1h"\} [0-9.e+-]+$/m, 'burn rate 1h');
like($metrics, qr/^slo_guard_last_pass_timestamp_seconds [0-9.]+$/m, 'last pass');
like($metrics, qr/^# TYPE slo_guard_objective_budget_left_ratio gauge$/m, 'TYPE lines');

sub promtool
{
	my ($text) = @_;
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'promtool', 'check', 'metrics' ], '<', \$text, '>', \$out, '2>', \$err,
		IPC::Run::timeout(30));
	return ($? >> 8, $out . $err);
}
my ($rc, $msg) = promtool($metrics);
is($rc, 0, 'promtool check metrics accepts slo_metrics()') or diag($msg);
($rc, $msg) = promtool(qq{# HELP x_seconds x\n# TYPE x_seconds gauge\nx_seconds{check="a"b"} 1\n});
isnt($rc, 0, 'and refuses an unescaped quote (the check is real)');

# ---- the real prometheus-postgres-exporter with the shipped queries ----
my $port = PostgreSQL::Test::Cluster::get_free_port();
my $dsn = sprintf('host=%s port=%d user=%s dbname=postgres sslmode=disable',
	$node->host, $node->port, scalar getpwuid($<));
my ($eout, $eerr) = ('', '');
my $exporter = IPC::Run::start(
	[
		'prometheus-postgres-exporter', '--disable-default-metrics',
		'--disable-settings-metrics', "--extend.query-path=$queries",
		"--web.listen-address=127.0.0.1:$port"
	],
	'<', \undef, '>', \$eout, '2>', \$eerr,
	init => sub { $ENV{DATA_SOURCE_NAME} = $dsn; },
	IPC::Run::timeout(60));

my $scraped = '';
my $deadline = time() + 30;
while (time() < $deadline)
{
	my ($out, $err) = ('', '');
	IPC::Run::run([ 'curl', '-s', '--max-time', '5', "http://127.0.0.1:$port/metrics" ],
		'>', \$out, '2>', \$err);
	if ($out =~ /^slo_guard_objective_target_ratio\{/m)
	{
		$scraped = $out;
		last;
	}
	usleep(300_000);
}
$exporter->kill_kill;
ok($scraped ne '', 'the exporter serves slo_guard\'s figures on 127.0.0.1') or diag($eerr);
like($scraped, qr/^slo_guard_objective_target_ratio\{check="api \\"p95\\" \\\\ latency\\nsecond line",objective="api_p95",server="[^"]*"\} 0\.95$/m,
	'objective target through the exporter, labels escaped');
like($scraped, qr/^slo_guard_objective_budget_left_ratio\{.*objective="api_p95".*\} -?[0-9.e+-]+$/m,
	'budget left through the exporter');
like($scraped, qr/^slo_guard_objective_burn_rate_1h\{.*objective="api_p95".*\} [0-9.e+-]+$/m,
	'burn rate 1h through the exporter');
like($scraped, qr/^slo_guard_check_value\{check="api \\"p95\\" \\\\ latency\\nsecond line",kind="sql",.*\} 500$/m,
	'last value of the check through the exporter');
like($scraped, qr/^slo_guard_checks\{server="[^"]*"\} 2$/m, 'checks: the sql check and the objective\'s');
like($scraped, qr/^slo_guard_last_pass_timestamp_seconds\{server="[^"]*"\} [0-9.e+]+$/m, 'last pass');
my ($rc2, $msg2) = promtool(join("\n", grep { /^(# (HELP|TYPE) )?slo_guard/ } split /\n/, $scraped) . "\n");
is($rc2, 0, 'the exporter\'s slo_guard series pass promtool too') or diag($msg2);

$node->stop;
done_testing();
