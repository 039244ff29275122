# On a streaming hot standby slo_guard runs no process and writes nothing (the
# launcher starts only once recovery has finished); promoted, the standby
# takes over: its worker runs the checks it replicated, alerts included.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{shared_preload_libraries = 'slo_guard'});
$primary->start;

$primary->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}',
                     severity => 'P0', every => '1 second');
});
ok( $primary->poll_query_until(
		'postgres', "SELECT state = 'ok' FROM slo_status() WHERE name = 'critical_tables'"),
	'primary: the worker runs the check');

$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

# Results keep streaming in from the primary's worker ...
my $max_id = $primary->safe_psql('postgres', 'SELECT max(id) FROM slo_result');
ok( $primary->poll_query_until(
		'postgres', "SELECT count(*) > 0 FROM slo_result WHERE id > $max_id"),
	'primary keeps writing results');
$primary->wait_for_catchup($standby);
is($standby->safe_psql('postgres', 'SELECT pg_is_in_recovery()'), 't', 'standby is in recovery');
ok( $standby->safe_psql('postgres', "SELECT count(*) > 0 FROM slo_result WHERE id > $max_id")
	  eq 't',
	'standby replays the results of the primary');

# ... while the standby itself runs nothing.
is( $standby->safe_psql('postgres',
		"SELECT count(*) FROM pg_stat_activity WHERE backend_type LIKE 'slo_guard%'"),
	'0',
	'no slo_guard process on the standby');
ok( !$standby->log_contains(qr/(ERROR|FATAL|WARNING):|slo_guard (worker|launcher)/),
	'standby log has nothing from slo_guard (no error loop)');

# Promote: the standby takes over.
$primary->stop;
my $at_promotion = $standby->safe_psql('postgres', 'SELECT max(id) FROM slo_result');
$standby->promote;
ok( $standby->poll_query_until(
		'postgres', q{
SELECT count(*) FILTER (WHERE backend_type IN ('slo_guard launcher', 'slo_guard')) = 2
   AND count(*) FILTER (WHERE backend_type = 'slo_guard runner') = 1
  FROM pg_stat_activity}),
	'launcher, worker and its run worker (max_workers 2) start after promotion');
ok( $standby->poll_query_until(
		'postgres', "SELECT count(*) > 0 FROM slo_result WHERE id > $at_promotion"),
	'promoted standby runs the checks');
$standby->safe_psql('postgres', 'DROP TABLE users');
ok( $standby->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM slo_alert_event WHERE event = 'firing'"),
	'promoted standby raises alerts');

$standby->stop;
done_testing();
