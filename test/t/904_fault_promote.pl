# Issue 15, fault: the primary crashes (stop('immediate')) while its worker writes
# results and alert transitions (flapping checks), and a streaming standby is
# promoted.  On the new primary: the worker runs the checks it replicated, new
# results and alert events continue the same history with nothing written twice
# (one result per check and run time, per alert one firing then at most one
# resolved, at most one open alert per check, state rows agreeing with the
# newest result), and a new failure pages.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $primary = PostgreSQL::Test::Cluster->new('fault_primary');
$primary->init(allows_streaming => 1);
$primary->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 100ms
});
$primary->start;
$primary->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
SELECT slo_add_check('users_table', 'table_exists', '{"tables": ["users"]}', severity => 'P0', every => '1 second');
SELECT slo_add_check('flap_' || i, 'sql',
         '{"query": "SELECT extract(epoch FROM clock_timestamp())::int % 2", "fail_above": 0.5}',
         every => '1 second')
  FROM generate_series(1, 10) i;
});
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('fault_standby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

ok($primary->poll_query_until('postgres', q{SELECT count(*) >= 6 FROM slo_alert_event}),
	'the primary writes results and alert transitions');
$primary->wait_for_catchup($standby);
sleep 1;
$primary->stop('immediate');
my $at_promotion = $standby->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM slo_result');
my $events_at_promotion = $standby->safe_psql('postgres', 'SELECT coalesce(max(id), 0) FROM slo_alert_event');
$standby->promote;

ok( $standby->poll_query_until('postgres',
		"SELECT count(*) >= 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'the promoted standby runs the worker');
ok( $standby->poll_query_until('postgres',
		"SELECT count(*) >= 30 FROM slo_result WHERE id > $at_promotion"),
	'the new primary runs the checks');
ok( $standby->poll_query_until('postgres',
		"SELECT count(*) >= 2 FROM slo_alert_event WHERE id > $events_at_promotion"),
	'and writes alert transitions');
$standby->safe_psql('postgres', 'DROP TABLE users');
ok( $standby->poll_query_until('postgres', q{
SELECT count(*) = 1 FROM slo_alert a JOIN slo_alert_event e ON e.alert_id = a.id
 WHERE a.check_name = 'users_table' AND e.event = 'firing'}),
	'a new failure pages on the new primary');

is($standby->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT check_id, at FROM slo_result GROUP BY 1, 2 HAVING count(*) > 1) d}),
	'0', 'no result written twice');
is($standby->safe_psql('postgres', q{
SELECT count(*) FROM (
  SELECT alert_id, string_agg(event, ',' ORDER BY id) AS seq FROM slo_alert_event
   WHERE event IN ('firing', 'resolved') GROUP BY alert_id) s
 WHERE seq NOT IN ('firing', 'firing,resolved')}), '0', 'per alert, one firing then at most one resolved');
is($standby->safe_psql('postgres', q{
SELECT count(*) FROM (SELECT check_id FROM slo_alert WHERE state = 'firing' GROUP BY 1 HAVING count(*) > 1) x}),
	'0', 'at most one open alert per check');
# Stop the worker from moving on while the state is compared with the history.
$standby->safe_psql('postgres', "ALTER SYSTEM SET slo_guard.enabled = off; SELECT pg_reload_conf()");
sleep 2;
is($standby->safe_psql('postgres', q{
SELECT string_agg(c.name, ', ') FROM slo_check c JOIN slo_check_state s ON s.check_id = c.id
  LEFT JOIN LATERAL (SELECT status, at FROM slo_result r WHERE r.check_id = c.id ORDER BY at DESC LIMIT 1) r ON true
  LEFT JOIN slo_alert a ON a.check_id = c.id AND a.state = 'firing'
 WHERE s.alert_id IS DISTINCT FROM a.id OR s.status IS DISTINCT FROM r.status
    OR s.last_run IS DISTINCT FROM r.at}), '', 'each state row agrees with its newest result and open alert');
ok(!$standby->log_contains(qr/terminated by signal|TRAP:|PANIC/), 'no crash on the new primary');
$standby->stop;
done_testing();
