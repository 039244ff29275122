# Issue 11: the worker runs http probes parked, with no transaction open while
# they are in flight.  With the worker alone (max_workers 1, naptime 100 ms),
# probes of a hanging and a slow endpoint due every second do not delay a P0
# table_exists check: its firing NOTIFY arrives within a loose bound after its
# table is dropped; while the probes are in flight the worker has no
# transaction open; their results (timeout, slow ok, fast ok) are written by
# the worker, once per run.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;
use Time::HiRes qw(time usleep);

my $srv = SloHttpd->start();
my $u = $srv->url('');

my $node = PostgreSQL::Test::Cluster->new('http_worker');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 100ms
slo_guard.max_workers = 1
slo_guard.allowed_hosts = '127.0.0.1'
});
$node->start;
$node->safe_psql('postgres', qq{
CREATE EXTENSION slo_guard;
CREATE TABLE critical (id int);
SELECT slo_add_check('hang', 'http', '{"url": "$u/hang", "timeout_ms": 3000}', every => '1 second');
SELECT slo_add_check('slow', 'http', '{"url": "$u/slow?ms=1500"}', every => '1 second');
SELECT slo_add_check('fast', 'http', '{"url": "$u/fast"}', every => '1 second');
SELECT slo_add_check('p0', 'table_exists', '{"tables": ["critical"]}', severity => 'P0', every => '1 second');
});

ok($node->poll_query_until('postgres', q{
	SELECT count(DISTINCT check_name) = 3 FROM slo_result WHERE check_name IN ('hang', 'slow', 'fast')}),
	'the worker runs the probes');

# while probes are in flight, the worker holds no transaction
my $idle_seen = 0;
for (1 .. 50)
{
	my $r = $node->safe_psql('postgres', q{
		SELECT count(*) FROM pg_stat_activity
		 WHERE backend_type = 'slo_guard' AND backend_xid IS NULL AND xact_start IS NULL});
	$idle_seen++ if $r eq '1';
	usleep(20_000);
}
cmp_ok($idle_seen, '>=', 40, "the worker is mostly outside a transaction while probes hang ($idle_seen of 50 looks)");
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	 WHERE a.backend_type = 'slo_guard' AND l.locktype = 'transactionid'}), '0',
	'nor a claim on a check');

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard');
my $t0 = time();
$node->safe_psql('postgres', 'DROP TABLE critical');
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
note sprintf('fault-to-NOTIFY latency beside hanging probes: %.0f ms', $latency * 1000);
cmp_ok($latency, '<', 1.5, 'within 1.5 s (every 1 s + loose bound), beside a 3 s hang and a 1.5 s probe');

ok($node->poll_query_until('postgres', q{
	SELECT count(*) >= 2 FROM slo_result WHERE check_name = 'hang'}), 'the hang probe runs again and again');
is($node->safe_psql('postgres', q{
	SELECT string_agg(DISTINCT status, ',') FROM slo_result WHERE check_name = 'hang'}), 'fail',
	'each hang probe is a timeout (fail)');
like($node->safe_psql('postgres', q{
	SELECT summary FROM slo_result WHERE check_name = 'hang' ORDER BY id DESC LIMIT 1}),
	qr/no answer within 3\d\d\d ms/, 'after its own timeout_ms');
is($node->safe_psql('postgres', q{
	SELECT bool_and(status = 'ok' AND value BETWEEN 1490 AND 3000) FROM slo_result WHERE check_name = 'slow'}),
	't', 'the slow probe: ok, value = its latency');
is($node->safe_psql('postgres', q{
	SELECT bool_and(gap >= interval '2.9 seconds') FROM
	  (SELECT at - lag(at) OVER (ORDER BY at) AS gap FROM slo_result WHERE check_name = 'hang') g
	 WHERE gap IS NOT NULL}), 't', 'a probe never runs twice at once (3 s timeout, due every 1 s)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM slo_result WHERE check_name = 'fast' AND status <> 'ok'}), '0', 'fast probes ok');
cmp_ok($node->safe_psql('postgres', q{SELECT count(*) FROM slo_result WHERE check_name = 'fast'}), '>=', 3,
	'the fast probe ran every second beside them');

# a fast failing endpoint fires its alert from the worker, once
$node->safe_psql('postgres', qq{SELECT slo_add_check('down', 'http', '{"url": "$u/status/503"}', severity => 'P1', every => '1 second')});
ok($node->poll_query_until('postgres', q{SELECT count(*) = 1 FROM slo_alert WHERE check_name = 'down' AND state = 'firing'}),
	'an endpoint answering 503 fires its alert from the worker');

# shutdown while probes hang: the worker stops at once
my $t1 = time();
$node->stop('fast');
cmp_ok(time() - $t1, '<', 5, 'a fast shutdown is not held up by hanging probes');
$srv->stop;
done_testing();
