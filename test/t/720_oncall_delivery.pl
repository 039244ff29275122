# Issues 11 and 12 together, end to end through the worker: the on-call events
# leave the database through the same outbox as the result events.
#   - slo_ack: the `acknowledged` event reaches a webhook target, and PagerDuty
#     gets event_action `acknowledge` on the alert's dedup_key;
#   - escalation: the `escalated` event is delivered (PagerDuty: trigger again);
#   - a silence: no delivery row at all for the silenced check's firing (nor a
#     repeat), and after slo_unsilence exactly one firing delivery;
#   - slo_incident_report lists each delivery (target, attempts, delivered).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;

$PostgreSQL::Test::Utils::timeout_default = 40;

my $srv  = SloHttpd->start();
my $node = PostgreSQL::Test::Cluster->new('oncall_delivery');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.allowed_hosts = '127.0.0.0/8'
slo_guard.response_time_p2 = 3
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
sub run_sql { return $node->safe_psql('postgres', $_[0]); }

my $u = $srv->url('/hook');
run_sql(qq{
SELECT slo_add_target('wh', 'webhook', '$u/wh', params => '{"repeat_every": "1 second"}');
SELECT slo_add_target('pd', 'pagerduty', '$u/pd', params => '{"routing_key": "rk-1"}');
});

sub wait_requests
{
	my ($name, $n) = @_;
	my @r;
	for (1 .. 300)
	{
		@r = $srv->requests($name);
		last if @r >= $n;
		select(undef, undef, undef, 0.1);
	}
	return @r;
}
sub events_of { return map { decode_json($_->{body}) } @_; }

# --- ack -----------------------------------------------------------------------------
run_sql(q{SELECT slo_add_check('orders_table', 'table_exists', '{"tables": ["orders"]}', 'P1', '1 second')});
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM slo_alert WHERE state = 'firing'"), 'the P1 alert fires');
my $alert = run_sql("SELECT id FROM slo_alert WHERE check_name = 'orders_table'");
my @pd = wait_requests('pd', 1);
is((events_of(@pd))[0]{event_action}, 'trigger', 'pagerduty: trigger on firing');
run_sql("SELECT slo_ack($alert, 'on it')");
@pd = wait_requests('pd', 2);
my @b = events_of(@pd);
is("$b[1]{event_action} $b[1]{dedup_key}", "acknowledge $b[0]{dedup_key}",
	'pagerduty: acknowledge on the same dedup_key after slo_ack');
my @wh = wait_requests('wh', 2);
ok((grep { $_->{event} eq 'acknowledged' } events_of(@wh)), 'webhook: the acknowledged event arrives');
sleep(2);
my $repeats = run_sql("SELECT count(*) FROM slo_delivery WHERE kind = 'repeat' AND alert_id = $alert");
is($repeats, '0', 'an acknowledged alert is not repeated');

# --- escalation (P2 response time 3 s) --------------------------------------------------
run_sql(q{SELECT slo_add_check('sync_lag', 'table_exists', '{"tables": ["sync_state"]}', 'P2', '1 hour')});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id
	  WHERE t.name = 'wh' AND d.event = 'escalated' AND d.state = 'delivered'"),
	'the escalated event is delivered to the webhook');
my $sync = run_sql("SELECT id FROM slo_alert WHERE check_name = 'sync_lag'");
@pd = wait_requests('pd', 4);
is(scalar(grep { $_->{event_action} eq 'trigger' && $_->{dedup_key} =~ /-$sync$/ } events_of(@pd)), 2,
	'pagerduty: firing and escalated are both triggers on the alert\'s dedup_key');

# --- a silence: nothing delivered; unsilence sends the held firing once --------------------
my $sid = run_sql(q{SELECT slo_silence('pay%', '1 hour', 'payments migration')});
run_sql(q{SELECT slo_add_check('payments_table', 'table_exists', '{"tables": ["payments"]}', 'P1', '1 second')});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM slo_alert WHERE check_name = 'payments_table' AND state = 'firing'"),
	'the silenced check fires (state kept)');
sleep(2);    # repeats would be due by now (repeat_every 1 s)
my $pay = run_sql("SELECT id FROM slo_alert WHERE check_name = 'payments_table'");
is(run_sql("SELECT count(*) FROM slo_delivery WHERE alert_id = $pay"), '0',
	'while silenced: no delivery row at all, no repeat');
is(run_sql("SELECT string_agg(event || ':' || notified, ',') FROM slo_alert_event WHERE alert_id = $pay"),
	'firing:false', 'the firing event is stored, not notified');
run_sql("SELECT slo_unsilence($sid)");
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 2 FROM slo_delivery WHERE alert_id = $pay AND kind = 'event' AND state = 'delivered'"),
	'after slo_unsilence the held firing is delivered to both targets');
is(run_sql("SELECT count(*) FROM slo_delivery WHERE alert_id = $pay AND kind = 'event'"), '2', 'once each');

# --- the incident report lists the deliveries ----------------------------------------------
my $report = run_sql("SELECT slo_incident_report($alert)");
like($report, qr/acknowledged/i, 'report: the acknowledgement');
like($report, qr/\| Delivered \| firing to pd, 1 attempts? \|/, 'report: the firing delivered to pd');
like($report, qr/\| Delivered \| acknowledged to wh, 1 attempts? \|/, 'report: the acknowledgement delivered to wh');

$node->stop;
$srv->stop;
done_testing();
