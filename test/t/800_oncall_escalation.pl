# Escalation by the worker's on-call job, with response times in seconds: a firing
# alert not acknowledged within its severity's response time gets `escalated` exactly
# once (escalated_at set by the claiming statement), also when its check does not run
# again meanwhile (every = 1 hour); an acknowledged alert never escalates; and an alert
# that fired before a server stop escalates once after the restart.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time sleep);

# a failure should not wait the default 180 s per poll
$PostgreSQL::Test::Utils::timeout_default = 30;

my $node = PostgreSQL::Test::Cluster->new('oncall_esc');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.response_time_p0 = 2
slo_guard.response_time_p1 = 4
slo_guard.response_time_p2 = 6
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');

sub run_sql { return $node->safe_psql('postgres', $_[0]); }
sub events
{
	my ($check, $event) = @_;
	return "SELECT count(*) FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
	         WHERE a.check_name = '$check' AND e.event = '$event'";
}

# --- escalation once, with no run of the check in between; none after an ack ----
run_sql(q{
	SELECT slo_add_check('esc_p0', 'table_exists', '{"tables": ["esc_missing"]}', 'P0', every => '1 hour');
	SELECT slo_add_check('esc_acked', 'table_exists', '{"tables": ["esc_missing"]}', 'P1', every => '1 hour');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM slo_alert WHERE state = 'firing'"), 'both alerts fire');
my $acked = run_sql("SELECT id FROM slo_alert WHERE check_name = 'esc_acked'");
run_sql("SELECT slo_ack($acked, 'on it')");

ok($node->poll_query_until('postgres', "SELECT (" . events('esc_p0', 'escalated') . ") = 1"),
	'the P0 alert escalates');
my $lag = run_sql(q{SELECT extract(epoch FROM escalated_at - fired_at) FROM slo_alert WHERE check_name = 'esc_p0'});
cmp_ok($lag, '>=', 2, 'not before the 2 s response time');
cmp_ok($lag, '<', 5, 'within about a second of it (' . sprintf('%.2f', $lag) . ' s)');
is(run_sql(q{SELECT e.notified, e.payload ->> 'event', e.payload ->> 'severity', e.at = a.escalated_at
         FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
        WHERE a.check_name = 'esc_p0' AND e.event = 'escalated'}),
	't|escalated|P0|t', 'the escalated event is notified, with its payload, at escalated_at');
is(run_sql(q{SELECT count(*) FROM slo_result r JOIN slo_check c ON c.id = r.check_id WHERE c.name = 'esc_p0'}),
	'1', 'the check did not run again: the job escalated on its own');

# past the P1 response time of the acknowledged alert, and a few more job rounds
my $fired = run_sql("SELECT extract(epoch FROM fired_at) FROM slo_alert WHERE id = $acked");
my $wait = $fired + 4 + 2.5 - run_sql('SELECT extract(epoch FROM now())');
sleep($wait) if $wait > 0;
is(run_sql(events('esc_p0', 'escalated')), '1', 'escalated exactly once');
is(run_sql(events('esc_acked', 'escalated')), '0', 'an acknowledged alert is not escalated');
is(run_sql("SELECT escalated_at IS NULL FROM slo_alert WHERE id = $acked"), 't', 'nor marked escalated');

# --- escalation after a restart ------------------------------------------------
run_sql(q{SELECT slo_add_check('esc_restart', 'table_exists', '{"tables": ["esc_missing"]}', 'P2', every => '1 hour')});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM slo_alert WHERE check_name = 'esc_restart'"), 'the P2 alert fires');
$node->stop('fast');
my $down_at = time();
sleep(7 - (time() - $down_at));
my $start_at = time();
$node->start;
ok($node->poll_query_until('postgres', "SELECT (" . events('esc_restart', 'escalated') . ") = 1"),
	'the alert escalates after the restart');
cmp_ok(run_sql(q{SELECT extract(epoch FROM escalated_at) FROM slo_alert WHERE check_name = 'esc_restart'}),
	'>=', $start_at - 0.5, 'escalated by the restarted worker');
sleep(2);
is(run_sql(events('esc_restart', 'escalated')), '1', 'once');
is(run_sql(events('esc_p0', 'escalated')), '1', 'and the earlier escalation is not repeated after the restart');

$node->stop;
done_testing();
