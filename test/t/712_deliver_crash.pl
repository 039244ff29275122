# Issue 11: nothing queued is lost when the server stops with -m immediate:
# deliveries queued, and one in flight (`sending`, its request hanging), all
# arrive after the restart, each queued one exactly once.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;
use Time::HiRes qw(usleep time);

my $srv = SloHttpd->start();
my $node = PostgreSQL::Test::Cluster->new('deliver_crash');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.allowed_hosts = '127.0.0.1'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
my $u = $srv->url('/hook');

$srv->set_script('c', 'hang');
$node->safe_psql('postgres', "SELECT slo_add_target('c', 'webhook', '$u/c', params => '{\"timeout_ms\": 60000}')");
my $first = $node->safe_psql('postgres', "SELECT slo_test_target('c')");
ok($node->poll_query_until('postgres', "SELECT state = 'sending' FROM slo_delivery WHERE id = $first"),
	'the first delivery is in flight (the receiver hangs)');
# the sender is busy: these stay queued
$node->safe_psql('postgres', "SELECT slo_test_target('c') FROM generate_series(1, 10)");
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_delivery WHERE state = 'queued'"), '10', '10 more queued');

$node->stop('immediate');
$srv->set_script('c', '200');
$node->start;
ok($node->poll_query_until('postgres', "SELECT count(*) = 11 FROM slo_delivery WHERE state = 'delivered'"),
	'after the restart all 11 are delivered');
usleep(500_000);
my @r = grep { $_->{answer} eq '200' } $srv->requests('c');
my %n;
$n{ $_->{headers}{'Idempotency-Key'} }++ for @r;
is(scalar(keys %n), 11, 'the receiver got all 11');
is(scalar(grep { $n{$_} != 1 } keys %n), 0, 'each exactly once');
is($node->safe_psql('postgres', "SELECT attempts FROM slo_delivery WHERE id = $first"), '1',
	'the one in flight at the crash was sent again (at least once); its lost attempt is not counted');

$node->stop;
$srv->stop;
done_testing();
