# Bounded alert history and resolving on disable/drop, with the worker on
# (issue 10). slo_guard.alert_retention (seconds here) makes the worker trim
# resolved alerts, with their events, while open alerts stay. Disabling a firing
# check, or dropping it, sends a `resolved` NOTIFY saying who did it and why.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('alerts');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = '100ms'
slo_guard.alert_retention = '2s'
});
$node->start;

is($node->safe_psql('postgres', 'SHOW slo_guard.alert_retention'), '2s', 'alert_retention in seconds');
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
SELECT slo_add_check('flapping', 'table_exists', '{"tables": ["flap"]}', every => '1 second');
SELECT slo_add_check('broken', 'table_exists', '{"tables": ["never_there"]}', every => '1 second');
});

# Read notifications from a LISTENing background psql until one matches.
sub wait_for_notification
{
	my ($session, $pattern) = @_;
	my $seen = '';
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		$seen .= $session->query_safe('SELECT 1');
		return $1 if $seen =~ $pattern;
		usleep(100_000);
	}
	diag "notifications seen: $seen";
	return undef;
}

# --- trimming: a resolved alert older than the retention goes, with its events ---
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 2 FROM slo_alert WHERE state = 'firing'"),
	'both checks fire (the worker runs them)');
my $flap_alert = $node->safe_psql('postgres', "SELECT id FROM slo_alert WHERE check_name = 'flapping'");
$node->safe_psql('postgres', 'CREATE TABLE flap (id int)');
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'resolved' FROM slo_alert WHERE id = $flap_alert"),
	'the flapping check resolves');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_alert_event WHERE alert_id = $flap_alert"),
	'2', 'its alert has two events');
# the worker trims every 10 s at most; retention is 2 s
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) = 0 FROM slo_alert WHERE id = $flap_alert"),
	'the resolved alert is trimmed once older than alert_retention');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_alert_event WHERE alert_id = $flap_alert"),
	'0', 'with its events');
is( $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_alert WHERE check_name = 'broken' AND state = 'firing' AND fired_at < now() - interval '2 seconds'"),
	'1', 'an open alert is never trimmed, however old');
is($node->safe_psql('postgres', "SELECT state FROM slo_status() WHERE name = 'flapping'"),
	'ok', 'the check itself is untouched');

# --- disabling and dropping a firing check resolve its alert, with a NOTIFY ----
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard');
$node->safe_psql('postgres', "SELECT slo_alter_check('broken', enabled => false)");
my $payload = wait_for_notification($listener,
	qr/Asynchronous notification "slo_guard" with payload "(\{[^\n]*"event": ?"resolved"[^\n]*\})" received/);
ok(defined $payload, 'disabling the firing check sends a resolved NOTIFY');
like($payload // '', qr/"summary": ?"check disabled by postgres"/, 'which says who disabled it');
like($payload // '', qr/"check": ?"broken"/, 'and names the check');
is($node->safe_psql('postgres', "SELECT state FROM slo_status() WHERE name = 'broken'"),
	'disabled', 'the check is disabled');

$node->safe_psql('postgres', "SELECT slo_alter_check('broken', enabled => true)");
ok( $node->poll_query_until(
		'postgres', "SELECT state = 'firing' FROM slo_status() WHERE name = 'broken'"),
	're-enabled, the worker runs it and it fires again');
$node->safe_psql('postgres', "SELECT slo_drop_check('broken')");
$payload = wait_for_notification($listener,
	qr/Asynchronous notification "slo_guard" with payload "(\{[^\n]*"summary": ?"check dropped by postgres"[^\n]*\})" received/);
ok(defined $payload, 'dropping the firing check sends a resolved NOTIFY saying so');
like($payload // '', qr/"event": ?"resolved"/, 'event resolved');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_alert WHERE check_name = 'broken'"),
	'0', 'the alerts went with the dropped check');
$listener->quit;

ok(!$node->log_contains(qr/pass failed|could not trim/), 'the worker had no failing pass or trim');
$node->stop;
done_testing();
