# Issue 12 (delivery side): repeat_every re-sends a still-firing,
# unacknowledged alert until it resolves; digest gathers a target's events
# into one message per interval (digest_every shortens the day for the test).
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
my $node = PostgreSQL::Test::Cluster->new('deliver_repeat');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.allowed_hosts = '127.0.0.1'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
my $u = $srv->url('/hook');

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

$node->safe_psql('postgres', qq{
SELECT slo_add_target('rep', 'webhook', '$u/rep', params => '{"repeat_every": "2 seconds"}');
SELECT slo_add_target('dig', 'webhook', '$u/dig', params => '{"digest": "daily", "digest_every": "4 seconds"}');
SELECT slo_add_target('digslack', 'slack', '$u/digslack', params => '{"digest": "daily", "digest_every": "4 seconds"}');
});
my ($rc, $out, $err) = $node->psql('postgres', "SELECT slo_add_target('x', 'pagerduty', '$u/x', params => '{\"routing_key\": \"k\", \"digest\": \"daily\"}')");
like($err, qr/invalid value for target param "digest": daily/, 'a pagerduty target takes no digest');
($rc, $out, $err) = $node->psql('postgres', "SELECT slo_add_target('x', 'webhook', '$u/x', params => '{\"repeat_every\": \"soon\"}')");
like($err, qr/invalid value for target param "repeat_every": soon/, 'repeat_every must be an interval');

my $t0 = time;
$node->safe_psql('postgres', q{
SELECT slo_add_check('a_check', 'table_exists', '{"tables": ["a_tab"]}', every => '1 second');
SELECT slo_add_check('b_check', 'table_exists', '{"tables": ["b_tab"]}', every => '1 second');
});

# repeats: the firing event, then again every 2 s
my @r = wait_requests('rep', 6, 15);
my @a = grep { decode_json($_->{body})->{check} eq 'a_check' } @r;
ok(@a >= 3, 'a firing alert is re-sent (' . scalar(@a) . ' deliveries of a_check so far)');
my @b = map { decode_json($_->{body}) } @a;
is("$b[0]{event} $b[0]{delivery}", 'firing event', 'first the firing event');
is("$b[1]{event} $b[1]{delivery} $b[1]{repeat}", 'firing repeat 1', 'then repeats of it');
my $gap = $a[2]{t} - $a[1]{t};
ok($gap >= 1.5 && $gap < 4, sprintf('about every 2 s (%.1f s)', $gap));

# the digest: one message per 4 s with the events held
my @d = wait_requests('dig', 1, 15);
my $dg = decode_json($d[0]{body});
is("$dg->{event} $dg->{delivery}", 'digest digest', 'the digest target gets a digest');
is($dg->{count}, 2, 'gathering both firing events');
is(join(',', sort map { $_->{check} } @{ $dg->{events} }), 'a_check,b_check', 'with each event');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'dig' AND d.kind = 'event' AND d.state = 'digested'"),
	'2', 'the events are marked digested, never sent one by one');
my @ds = wait_requests('digslack', 1, 15);
my $sb = decode_json($ds[0]{body});
like($sb->{text}, qr/^\[slo_guard\] digest for postgres: 2 events since /, 'slack digest text');
like($sb->{blocks}[2]{text}{text}, qr/FIRING P2 a_check: Table a_tab is missing\./, 'slack digest lists the events');

# resolve a_check: its resolved event goes out, its repeats stop; b_check repeats on
$node->safe_psql('postgres', 'CREATE TABLE a_tab ()');
$node->poll_query_until('postgres', "SELECT count(*) = 1 FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'rep' AND d.event = 'resolved' AND d.state = 'delivered'");
my $n_a = scalar(grep { decode_json($_->{body})->{check} eq 'a_check' } $srv->requests('rep'));
my $n_b = scalar(grep { decode_json($_->{body})->{check} eq 'b_check' } $srv->requests('rep'));
usleep(4_500_000);
my @after = $srv->requests('rep');
is(scalar(grep { decode_json($_->{body})->{check} eq 'a_check' } @after), $n_a, 'no repeat after the alert resolved');
ok(scalar(grep { decode_json($_->{body})->{check} eq 'b_check' } @after) > $n_b, 'the other, still firing, repeats on');

# an acknowledged alert is not repeated (slo_ack sets acknowledged_at)
$node->safe_psql('postgres', "UPDATE slo_alert SET acknowledged_at = now() WHERE check_name = 'b_check'");
usleep(500_000);
$n_b = scalar(grep { decode_json($_->{body})->{check} eq 'b_check' } $srv->requests('rep'));
usleep(4_000_000);
is(scalar(grep { decode_json($_->{body})->{check} eq 'b_check' } $srv->requests('rep')), $n_b, 'no repeat once acknowledged');

# the next digest has the resolved event of a_check
@d = wait_requests('dig', 2, 15);
$dg = decode_json($d[1]{body});
ok((grep { $_->{event} eq 'resolved' && $_->{check} eq 'a_check' } @{ $dg->{events} }), 'the next digest has the resolved event');

$node->stop;
$srv->stop;
done_testing();
