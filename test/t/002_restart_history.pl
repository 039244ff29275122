# History and alert state across a server restart, bounded history
# (slo_guard.keep_ok_results = changes, with slo_status() still exact) and
# trimming by slo_guard.result_retention in small batches, all done by the
# worker with nobody calling slo_run_checks().
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('history');
$node->init;
$node->append_conf('postgresql.conf', q{shared_preload_libraries = 'slo_guard'});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}',
                     severity => 'P0', every => '1 second');
});
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'ok' FROM slo_status() WHERE name = 'critical_tables'"),
	'worker runs the check');

# --- restart: history and alert state survive, checks resume -----------------

$node->safe_psql('postgres', 'DROP TABLE users');
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'firing' FROM slo_status() WHERE name = 'critical_tables'"),
	'alert fires');
my $before = $node->safe_psql('postgres', q{
SELECT a.id || '|' || a.fired_at || '|' ||
       (SELECT count(*) FROM slo_alert_event) || '|' ||
       (SELECT max(id) FROM slo_result)
  FROM slo_alert a WHERE a.state = 'firing'});
my ($alert_id, $fired_at, $nevents, $max_result) = split /\|/, $before;

$node->restart;

is( $node->safe_psql(
		'postgres', "SELECT id || '|' || fired_at FROM slo_alert WHERE state = 'firing'"),
	"$alert_id|$fired_at",
	'the open alert survives the restart');
is( $node->safe_psql(
		'postgres', "SELECT state || ' ' || alert_id FROM slo_status() WHERE name = 'critical_tables'"),
	"firing $alert_id",
	'slo_status() still shows it firing');
ok( $node->safe_psql('postgres', "SELECT count(*) >= $nevents FROM slo_alert_event") eq 't'
	  && $node->safe_psql('postgres', "SELECT count(*) > 0 FROM slo_result WHERE id <= $max_result")
	  eq 't',
	'history survives the restart');
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) > 0 FROM slo_result WHERE id > $max_result"),
	'checks resume after the restart');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_alert_event WHERE alert_id = $alert_id AND event = 'firing'"),
	'1',
	'a still-failing check does not fire its alert again after the restart');
$node->safe_psql('postgres', 'CREATE TABLE users (id int)');
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'resolved' FROM slo_alert WHERE id = $alert_id"),
	'the same alert resolves after the restart');

# --- keep_ok_results = changes: bounded history, exact status ----------------

$node->safe_psql('postgres', "ALTER SYSTEM SET slo_guard.keep_ok_results = 'changes'");
$node->reload;
$node->safe_psql('postgres', q{
SELECT slo_add_check('steady', 'table_exists', '{"tables": ["users"]}', every => '1 second');
});
ok( $node->poll_query_until(
		'postgres',
		"SELECT last_run >= since + interval '3 seconds' FROM slo_status() WHERE name = 'steady'"),
	'steady check has run for a few seconds');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE check_name = 'steady'"),
	'1', 'only the first ok result is kept');
my $last_stored = $node->safe_psql('postgres',
	"SELECT max(at) FROM slo_result WHERE check_name = 'steady'");
is( $node->safe_psql('postgres',
		"SELECT status || ' ' || (last_run > '$last_stored') FROM slo_status() WHERE name = 'steady'"),
	'ok true',
	'slo_status() shows runs later than the last stored result');

$node->safe_psql('postgres', 'DROP TABLE users');
ok( $node->poll_query_until(
		'postgres', "SELECT status = 'fail' FROM slo_status() WHERE name = 'steady'"),
	'steady check fails');
$node->safe_psql('postgres', 'CREATE TABLE users (id int)');
ok( $node->poll_query_until(
		'postgres',
		"SELECT status = 'ok' AND last_run >= since + interval '2 seconds' FROM slo_status() WHERE name = 'steady'"),
	'steady check is ok again for a while');
# Failed results are all kept (they are what an incident review needs); of
# the ok ones only those that change the status.
like( $node->safe_psql('postgres',
		"SELECT string_agg(status, ',' ORDER BY id) FROM slo_result WHERE check_name = 'steady'"),
	qr/^ok(,fail)+,ok$/,
	'ok results are kept only when the status changes');
is( $node->safe_psql('postgres',
		"SELECT since = (SELECT max(at) FROM slo_result WHERE check_name = 'steady') FROM slo_status() WHERE name = 'steady'"),
	't',
	'slo_status().since is the time of the last change');

# --- result_retention: old results are trimmed in small batches --------------

# 2,500 results 40 days old (retention defaults to 30 days), with ids below
# every real one, as if written long ago.
$node->safe_psql('postgres', q{
INSERT INTO slo_result (id, check_id, check_name, at, status)
SELECT -g, c.id, c.name, now() - interval '40 days', 'ok'
  FROM generate_series(1, 2500) g, slo_check c WHERE c.name = 'critical_tables';
});
my $recent = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_result WHERE id > 0');
ok( $node->poll_query_until(
		'postgres', 'SELECT count(*) = 0 FROM slo_result WHERE id < 0'),
	'results older than the retention are trimmed by the worker');
ok( $node->safe_psql('postgres', "SELECT count(*) >= $recent FROM slo_result WHERE id > 0")
	  eq 't',
	'recent results are kept');

$node->stop;
done_testing();
