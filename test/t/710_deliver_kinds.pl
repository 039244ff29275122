# Issue 11, delivery: every target kind's body checked field by field at a
# local recording receiver (webhook, slack, pagerduty, alertmanager format),
# min_severity, slo_test_target, a host outside allowed_hosts refused, and
# secrets: never in a table an on-call role (SELECT on every slo_ table) can
# read, never in the server log.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;
use Time::HiRes qw(usleep time);

my $srv = SloHttpd->start();
my $node = PostgreSQL::Test::Cluster->new('deliver_kinds');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.allowed_hosts = '127.0.0.0/8'
log_statement = 'all'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');

my $SECRET_HDR = 'Bearer hdr-s3cr3t-7781';
my $SECRET_RK = 'rk-s3cr3t-99213';
my $SECRET_URLTOKEN = 'T000/B000/urltok3n5ecret';

# Targets, added by a non-superuser admin whose secrets come from a table (the
# README's way of keeping them out of log_statement): a superuser may also SET
# log_statement = 'none' first.
$node->safe_psql('postgres', q{
CREATE ROLE slo_admin LOGIN;
CREATE ROLE oncall LOGIN;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO slo_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO oncall;
GRANT SELECT ON slo_target, slo_target_secret, slo_delivery TO slo_admin;
CREATE TABLE public.secret_input (k text PRIMARY KEY, v text);
GRANT SELECT ON public.secret_input TO slo_admin;
});
# the secrets go in by COPY, whose data log_statement does not log
$node->safe_psql('postgres', qq{COPY public.secret_input FROM STDIN;
hdr\t$SECRET_HDR
rk\t$SECRET_RK
tok\t$SECRET_URLTOKEN
\\.
});
my $u = $srv->url('/hook');
$node->safe_psql('postgres', qq{
SET ROLE slo_admin;
SELECT slo_add_target('wh', 'webhook', '$u/wh',
       params => jsonb_build_object('headers', jsonb_build_object('Authorization', (SELECT v FROM secret_input WHERE k = 'hdr'))));
SELECT slo_add_target('sl', 'slack', '$u/sl/' || (SELECT v FROM secret_input WHERE k = 'tok'));
SELECT slo_add_target('pd', 'pagerduty', '$u/pd', params => jsonb_build_object('routing_key', (SELECT v FROM secret_input WHERE k = 'rk')));
SELECT slo_add_target('am', 'alertmanager', '$u/am');
SELECT slo_add_target('p0only', 'webhook', '$u/p0', min_severity => 'P0');
});

# a host outside allowed_hosts is refused, naming the host only
my ($rc, $out, $err) = $node->psql('postgres',
	"SELECT slo_add_target('out', 'webhook', 'https://hooks.example.com/services/T9/B9/othertoken')");
like($err, qr/ERROR:  url refused for target kind "webhook": host "hooks.example.com" is not allowed by slo_guard.allowed_hosts/,
	'a host outside allowed_hosts is refused');
unlike($err, qr/othertoken/, 'the refusal does not show the url path');
($rc, $out, $err) = $node->psql('postgres', "SELECT slo_add_target('out', 'email', 'http://127.0.0.1/x', params => '{\"from\":\"a\@b.c\",\"to\":[\"d\@e.f\"]}')");
like($err, qr/url refused for target kind "email"/, 'an email target needs smtp:// or smtps://');
($rc, $out, $err) = $node->psql('postgres', "SELECT slo_add_target('x', 'pagerduty', '$u/pd', params => '{\"routing_key\": 42}')");
like($err, qr/invalid value for target param "routing_key": \(secret, not shown\)/, 'a bad secret param is named, its value not shown');

# A failing P1 check with a runbook label: firing goes to every target but p0only.
$node->safe_psql('postgres', q{
SELECT slo_add_check('orders_table', 'table_exists', '{"tables": ["orders"]}', severity => 'P1',
       every => '1 second', labels => '{"runbook": "https://wiki.example/rb/orders", "category": "data"}')});

sub wait_requests
{
	my ($name, $n, $secs) = @_;
	my $deadline = time + ($secs // 20);
	my @r;
	while (time < $deadline)
	{
		@r = $srv->requests($name);
		return @r if @r >= $n;
		usleep(100_000);
	}
	return @r;
}

my @wh = wait_requests('wh', 1);
my @pd = wait_requests('pd', 1);
my @am = wait_requests('am', 1);
my @sl = wait_requests('sl', 1);
is(scalar(@wh), 1, 'webhook got the firing event once');
my $alert_id = $node->safe_psql('postgres', "SELECT id FROM slo_alert WHERE check_name = 'orders_table'");
my $dbname = 'postgres';

my $b = decode_json($wh[0]{body});
is($wh[0]{method}, 'POST', 'webhook: POST');
is($wh[0]{headers}{'Content-Type'}, 'application/json', 'webhook: JSON content type');
is($wh[0]{headers}{'Authorization'}, $SECRET_HDR, 'webhook: the secret header is sent');
my $did = $node->safe_psql('postgres', "SELECT d.id FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'wh'");
is($wh[0]{headers}{'Idempotency-Key'}, $did, 'webhook: Idempotency-Key is the delivery id');
is($b->{delivery_id}, $did, 'webhook: delivery_id in the body');
is($b->{event}, 'firing', 'webhook: event');
is($b->{alert_id}, $alert_id, 'webhook: alert_id');
is($b->{check}, 'orders_table', 'webhook: check');
is($b->{kind}, 'table_exists', 'webhook: kind');
is($b->{severity}, 'P1', 'webhook: severity');
is($b->{status}, 'fail', 'webhook: status');
is($b->{value}, 1, 'webhook: value');
is($b->{summary}, 'Table orders is missing.', 'webhook: summary');
is($b->{labels}{category}, 'data', 'webhook: labels');
is($b->{database}, $dbname, 'webhook: database');
like($b->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d/, 'webhook: at is ISO 8601');

is($sl[0]{path}, "/hook/sl/$SECRET_URLTOKEN", 'slack: sent to the full (secret) url');
$b = decode_json($sl[0]{body});
is($b->{text}, '[P1] FIRING orders_table: Table orders is missing.', 'slack: text');
is($b->{blocks}[0]{type}, 'header', 'slack: a header block');
is($b->{blocks}[0]{text}{text}, 'FIRING P1: orders_table', 'slack: header names event, severity and check');
my %fields = map { my ($k, $v) = split /\n/, $_->{text}, 2; ($k => $v) } @{ $b->{blocks}[1]{fields} };
is($fields{'*Severity*'}, 'P1', 'slack: severity field');
is($fields{'*Check*'}, 'orders_table', 'slack: check field');
like($fields{'*Since*'}, qr/^\d{4}-\d\d-\d\dT/, 'slack: since field');
is($b->{blocks}[2]{text}{text}, "*Summary*\nTable orders is missing.", 'slack: summary block');
is($b->{blocks}[3]{elements}[0]{text}, 'Labels: category=data, runbook=https://wiki.example/rb/orders', 'slack: labels');
is($b->{blocks}[4]{text}{text}, '<https://wiki.example/rb/orders|Runbook>', 'slack: runbook link from the runbook label');

$b = decode_json($pd[0]{body});
is($b->{routing_key}, $SECRET_RK, 'pagerduty: routing_key');
is($b->{event_action}, 'trigger', 'pagerduty: firing is trigger');
is($b->{dedup_key}, "slo_guard-$dbname-$alert_id", 'pagerduty: dedup_key per alert');
is($b->{payload}{severity}, 'error', 'pagerduty: P1 maps to error');
is($b->{payload}{summary}, '[P1] orders_table: Table orders is missing.', 'pagerduty: payload.summary');
is($b->{payload}{source}, $dbname, 'pagerduty: payload.source');
is($b->{payload}{component}, 'orders_table', 'pagerduty: payload.component');
like($b->{payload}{timestamp}, qr/^\d{4}-/, 'pagerduty: payload.timestamp');
ok($b->{payload}{custom_details}{delivery_id} > 0, 'pagerduty: the delivery id in custom_details');
is($b->{links}[0]{href}, 'https://wiki.example/rb/orders', 'pagerduty: runbook link');

is($am[0]{path}, '/hook/am/api/v2/alerts', 'alertmanager: POST to <url>/api/v2/alerts');
$b = decode_json($am[0]{body});
is(ref $b, 'ARRAY', 'alertmanager: a JSON array');
is($b->[0]{labels}{alertname}, 'orders_table', 'alertmanager: alertname is the check');
is($b->[0]{labels}{severity}, 'P1', 'alertmanager: severity label');
is($b->[0]{labels}{category}, 'data', "alertmanager: the check's labels");
is($b->[0]{annotations}{summary}, 'Table orders is missing.', 'alertmanager: summary annotation');
like($b->[0]{startsAt}, qr/^\d{4}-/, 'alertmanager: startsAt');
ok(!exists $b->[0]{endsAt}, 'alertmanager: no endsAt while firing');

# resolve: pagerduty resolve on the same dedup_key, alertmanager endsAt
$node->safe_psql('postgres', 'CREATE TABLE orders (id int)');
@pd = wait_requests('pd', 2);
@am = wait_requests('am', 2);
@wh = wait_requests('wh', 2);
is(decode_json($wh[1]{body})->{event}, 'resolved', 'webhook: resolved event');
$b = decode_json($pd[1]{body});
is("$b->{event_action} $b->{dedup_key}", "resolve slo_guard-$dbname-$alert_id", 'pagerduty: resolve on the same dedup_key');
$b = decode_json($am[1]{body});
like($b->[0]{endsAt}, qr/^\d{4}-/, 'alertmanager: endsAt on resolve');

my @none = $srv->requests('p0');
is(scalar(@none), 0, 'min_severity P0: a P1 alert is not delivered there');
# (a request is at the receiver before its outcome commits, and Slack's pace holds one back)
ok($node->poll_query_until('postgres', "SELECT count(*) = 0 FROM slo_delivery WHERE state <> 'delivered'"),
	'every delivery is delivered');

# slo_test_target queues a test message and returns its delivery id
my $tid = $node->safe_psql('postgres', "SET ROLE slo_admin; SELECT slo_test_target('p0only')");
my @p0 = wait_requests('p0', 1);
$b = decode_json($p0[0]{body} // '{}');
is("$b->{event} $b->{delivery_id}", "test $tid", 'slo_test_target delivers a test message');
($rc, $out, $err) = $node->psql('postgres', "GRANT EXECUTE ON FUNCTION slo_test_target(text), slo_drop_target(text, boolean) TO oncall; SET ROLE oncall; SELECT slo_test_target('p0only')");
like($err, qr/ERROR:  must be owner of target "p0only"/, 'only the owner (its members, superusers) may test a target');
($rc, $out, $err) = $node->psql('postgres', "SET ROLE oncall; SELECT slo_drop_target('p0only')");
like($err, qr/ERROR:  must be owner of target "p0only"/, 'only the owner may drop a target');

# secrets: an on-call role with SELECT on every slo_ table sees none of them
my $all = $node->safe_psql('postgres', q{
SET ROLE oncall;
SELECT string_agg(t::text, E'\n') FROM (
  SELECT to_jsonb(x)::text AS t FROM slo_target x UNION ALL
  SELECT to_jsonb(x)::text FROM slo_target_secret x UNION ALL
  SELECT to_jsonb(x)::text FROM slo_delivery x UNION ALL
  SELECT to_jsonb(x)::text FROM slo_alert_event x UNION ALL
  SELECT to_jsonb(x)::text FROM slo_alert x) s});
ok(length($all) > 100, 'the on-call role reads targets, deliveries and events');
unlike($all, qr/\Q$SECRET_HDR\E|\Q$SECRET_RK\E|\Q$SECRET_URLTOKEN\E/, 'no secret in any table the on-call role can read');
is($node->safe_psql('postgres', 'SET ROLE oncall; SELECT count(*) FROM slo_target_secret'), '0',
	'row level security hides every secrets row from the on-call role');
is($node->safe_psql('postgres', 'SET ROLE slo_admin; SELECT count(*) FROM slo_target_secret'), '5',
	'the owner reads its own secrets');
my $all_tables = $node->safe_psql('postgres', q{
SELECT string_agg(format('%s', c.relname), ',') FROM pg_class c
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'slo\_%'});
my $dump = '';
for my $t (split /,/, $all_tables)
{
	$dump .= $node->safe_psql('postgres', "SET ROLE oncall; SELECT coalesce(string_agg(to_jsonb(x)::text, ''), '') FROM $t x");
}
unlike($dump, qr/\Q$SECRET_HDR\E|\Q$SECRET_RK\E|\Q$SECRET_URLTOKEN\E/, "no secret in any slo_ table ($all_tables) for the on-call role");

# ... nor in the server log (log_statement = 'all' is on)
my $log = slurp_file($node->logfile);
like($log, qr/slo_add_target\('wh'/, 'the log has the statements');
unlike($log, qr/\Q$SECRET_HDR\E|\Q$SECRET_RK\E|\Q$SECRET_URLTOKEN\E/, 'no secret in the server log');

# the pace: Slack gets about one message a second, and every one of them
my $before = scalar(my @s0 = $srv->requests('sl'));
$node->safe_psql('postgres', q{SELECT slo_test_target('sl') FROM generate_series(1, 4)});
my @sl4 = wait_requests('sl', $before + 4, 20);
is(scalar(@sl4), $before + 4, 'four test messages queued at once all reach Slack');
my @t = map { $_->{t} } @sl4[$before .. $#sl4];
my $mingap = 99;
$mingap = ($t[$_] - $t[$_ - 1] < $mingap) ? $t[$_] - $t[$_ - 1] : $mingap for 1 .. $#t;
ok($mingap >= 0.9 && $t[-1] - $t[0] < 6, sprintf('paced about 1 a second (smallest gap %.2f s, all in %.1f s)', $mingap, $t[-1] - $t[0]));

# slo_alter_target: what is given changes; params replace params and secrets
$node->safe_psql('postgres', q{SET ROLE slo_admin; SELECT slo_alter_target('pd', min_severity => 'P0', params => '{"routing_key": "rk-new", "rate_per_minute": 30}')});
is($node->safe_psql('postgres', q{SELECT min_severity || ' ' || params::text || ' ' || (s.secrets ->> 'routing_key') FROM slo_target t JOIN slo_target_secret s ON s.target_id = t.id WHERE name = 'pd'}),
	'P0 {"rate_per_minute": 30} rk-new', 'slo_alter_target changes min_severity, params and the secret apart');
($rc, $out, $err) = $node->psql('postgres', "SET ROLE slo_admin; SELECT slo_alter_target('pd', url => 'https://evil.example.net/x')");
like($err, qr/url refused for target kind "pagerduty": host "evil.example.net"/, 'slo_alter_target refuses a host outside allowed_hosts');
$node->safe_psql('postgres', q{SET ROLE slo_admin; SELECT slo_alter_target('am', enabled => false)});
$node->safe_psql('postgres', 'DROP TABLE orders');
wait_requests('wh', 3);
usleep(1_000_000);
is(scalar(my @am2 = $srv->requests('am')), 2, 'a disabled target gets no new deliveries');

$node->stop;
$srv->stop;
done_testing();
