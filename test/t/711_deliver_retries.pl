# Issue 11, delivery retries against a local receiver with scripted answers:
# 500 three times then 200 is delivered once with attempts = 4; 400 is dead
# after one request; 429 with Retry-After: 2 waits about 2 s; a timeout is
# retried; out of attempts is dead with the last error; a receiver down for
# two minutes gets everything when it comes back (the other cases run while
# it is down).
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
my $node = PostgreSQL::Test::Cluster->new('deliver_retries');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.allowed_hosts = '127.0.0.1'
slo_guard.delivery_retry_max = '5s'
slo_guard.delivery_max_attempts = 100
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
my $u = $srv->url('/hook');

sub sq { return $node->safe_psql('postgres', $_[0]); }

sub wait_for
{
	my ($sql, $secs) = @_;
	return $node->poll_query_until('postgres', $sql) if !$secs;
	my $deadline = time + $secs;
	while (time < $deadline)
	{
		return 1 if sq($sql) eq 't';
		usleep(200_000);
	}
	return 0;
}

# The receiver goes down first; it stays down two minutes.
$srv->set_script('down', 'down');
sq("SELECT slo_add_target('down', 'webhook', '$u/down')");
my $t_down = time;
sq("SELECT slo_test_target('down') FROM generate_series(1, 5)");
sq(q{SELECT slo_add_check('down_check', 'table_exists', '{"tables": ["nope"]}', every => '1 hour')});
ok(wait_for("SELECT count(*) = 6 FROM slo_delivery", 20), 'the firing event is queued for the receiver that is down');

# 500, 500, 500, 200: delivered once, attempts = 4
$srv->set_script('r500', '500,500,500,200');
sq("SELECT slo_add_target('r500', 'webhook', '$u/r500')");
my $id500 = sq("SELECT slo_test_target('r500')");
ok(wait_for("SELECT state = 'delivered' FROM slo_delivery WHERE id = $id500", 40), '500 three times then 200: delivered');
is(sq("SELECT attempts || ' ' || last_status FROM slo_delivery WHERE id = $id500"), '4 200', 'after 4 attempts');
my @r = $srv->requests('r500');
is(join(',', map { $_->{answer} } @r), '500,500,500,200', 'the receiver saw 3 failures and one success');
is(scalar(grep { $_->{headers}{'Idempotency-Key'} eq $id500 } @r), 4, 'every attempt carries the same Idempotency-Key');
my @gaps = map { $r[$_]{t} - $r[$_ - 1]{t} } 1 .. 3;
ok($gaps[1] > $gaps[0] && $gaps[2] > $gaps[1], sprintf('backoff grows: %.1f, %.1f, %.1f s', @gaps));

# 400: dead after one request, the status in last_error
$srv->set_script('r400', '400');
sq("SELECT slo_add_target('r400', 'webhook', '$u/r400')");
my $id400 = sq("SELECT slo_test_target('r400')");
ok(wait_for("SELECT state = 'dead' FROM slo_delivery WHERE id = $id400", 20), '400: dead');
like(sq("SELECT attempts || ' ' || last_status || ' ' || last_error FROM slo_delivery WHERE id = $id400"),
	qr/^1 400 HTTP 400 from http:\/\/127\.0\.0\.1:\d+ \(not retried\)$/, '400: one attempt, the status in last_error');
usleep(1_500_000);
is(scalar(my @x = $srv->requests('r400')), 1, '400: never asked again');

# 429 with Retry-After: 2
$srv->set_script('r429', '429;retry-after=2,200');
sq("SELECT slo_add_target('r429', 'webhook', '$u/r429')");
my $id429 = sq("SELECT slo_test_target('r429')");
ok(wait_for("SELECT state = 'delivered' FROM slo_delivery WHERE id = $id429", 20), '429 then 200: delivered');
@r = $srv->requests('r429');
my $gap = $r[1]{t} - $r[0]{t};
ok($gap >= 1.9 && $gap < 3.5, sprintf('Retry-After: 2 honoured (%.2f s between the attempts)', $gap));

# a timeout is retried
$srv->set_script('slow', 'hang,200');
sq("SELECT slo_add_target('slow', 'webhook', '$u/slow', params => '{\"timeout_ms\": 500}')");
my $idt = sq("SELECT slo_test_target('slow')");
ok(wait_for("SELECT state = 'delivered' FROM slo_delivery WHERE id = $idt", 20), 'a timed-out request is retried and delivered');
like(sq("SELECT attempts || ' ' || last_error FROM slo_delivery WHERE id = $idt"), qr/^2 .*(time|Timeout)/i,
	'the timeout is the recorded error');

# the receiver that was down for two minutes gets everything
is(sq("SELECT count(*) FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'down' AND d.state IN ('queued', 'sending')"),
	'6', 'while the receiver is down its 6 deliveries wait');
my $left = 120 - (time - $t_down);
note(sprintf('receiver stays down %.0f s more', $left));
usleep(int($left * 1_000_000)) if $left > 0;
$srv->set_script('down', '200');
ok(wait_for("SELECT count(*) = 6 FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'down' AND d.state = 'delivered'", 30),
	'after two minutes down the receiver gets all 6 deliveries');
@r = grep { $_->{answer} eq '200' } $srv->requests('down');
my %keys = map { $_->{headers}{'Idempotency-Key'} => 1 } @r;
is(scalar(@r) . ' ' . scalar(keys %keys), '6 6', 'each exactly once after it came back');
ok(grep({ decode_json($_->{body})->{event} eq 'firing' } @r), 'the firing event among them');

# out of attempts: dead with the last error
sq("ALTER SYSTEM SET slo_guard.delivery_max_attempts = 2; SELECT pg_reload_conf()");
usleep(500_000);
$srv->set_script('r503', '503');
sq("SELECT slo_add_target('r503', 'webhook', '$u/r503')");
my $id503 = sq("SELECT slo_test_target('r503')");
ok(wait_for("SELECT state = 'dead' FROM slo_delivery WHERE id = $id503", 20), '503 until out of attempts: dead');
like(sq("SELECT attempts || ' ' || last_error FROM slo_delivery WHERE id = $id503"),
	qr/^2 HTTP 503 from .* \(gave up after 2 attempts\)$/, 'dead after delivery_max_attempts, with the last error');
sq("ALTER SYSTEM RESET slo_guard.delivery_max_attempts; SELECT pg_reload_conf()");

$node->stop;
$srv->stop;
done_testing();
