# pg_cron as the second way to run checks: a cron job calling
# slo_run_checks(), with slo_guard's own worker paused, writes results and
# raises alerts.  pg_cron 1.4 schedules by the minute, so this test waits up
# to a couple of minutes (polling, never sleeping blindly).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

# Minute-granular schedule: give polls room even if the default is lowered.
$PostgreSQL::Test::Utils::timeout_default = 180
  if $PostgreSQL::Test::Utils::timeout_default < 180;

my $node = PostgreSQL::Test::Cluster->new('cron');
my $pkglibdir = $node->config_data('--pkglibdir');
plan skip_all => 'pg_cron is not installed' unless -f "$pkglibdir/pg_cron.so";

$node->init;
my $host = $node->host;
$node->append_conf(
	'postgresql.conf', qq{
shared_preload_libraries = 'slo_guard, pg_cron'
cron.database_name = 'postgres'
cron.host = '$host'
slo_guard.enabled = off
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION pg_cron;
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}',
                     severity => 'P0', every => '1 second');
SELECT cron.schedule('slo_guard', '* * * * *', 'SELECT slo_run_checks()');
});

ok( $node->poll_query_until(
		'postgres', q{
SELECT query = 'slo_guard: paused (slo_guard.enabled is off)' FROM pg_stat_activity
 WHERE backend_type = 'slo_guard' AND datname = 'postgres'}),
	'slo_guard worker is paused: only pg_cron runs checks here');

ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) > 0 FROM cron.job_run_details WHERE status = 'succeeded'"),
	'the cron job ran');
is( $node->safe_psql('postgres',
		"SELECT state || ' ' || status FROM slo_status() WHERE name = 'critical_tables'"),
	'ok ok',
	'the cron run wrote the check result');

$node->safe_psql('postgres', 'DROP TABLE users');
my $runs = $node->safe_psql('postgres', 'SELECT count(*) FROM cron.job_run_details');
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) > $runs FROM cron.job_run_details WHERE status = 'succeeded'"),
	'the cron job ran again');
is( $node->safe_psql('postgres',
		"SELECT state FROM slo_alert WHERE check_name = 'critical_tables'"),
	'firing',
	'the cron run raised the alert');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_alert_event WHERE event = 'firing'"),
	'1',
	'one firing event, recorded in the cron transaction');

$node->stop;
done_testing();
