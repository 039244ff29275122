# Issue 15, fault: a standby is promoted while deliveries are queued. The
# primary's alerts are queued for a webhook receiver that is down (connection
# reset, retried); the primary crashes (stop('immediate')); the standby, which
# replicated the outbox, is promoted; the receiver comes back. The new
# primary's worker sends every queued delivery, each exactly once (one answered
# request per Idempotency-Key), and marks it delivered; nothing is lost.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use JSON::PP;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;

$PostgreSQL::Test::Utils::timeout_default = 60;

my $srv = SloHttpd->start();
$srv->set_script('wh', 'down');

my $primary = PostgreSQL::Test::Cluster->new('fault_dprimary');
$primary->init(allows_streaming => 1);
$primary->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 100ms
slo_guard.allowed_hosts = '127.0.0.0/8'
slo_guard.delivery_retry_max = '2s'
});
$primary->start;
my $u = $srv->url('/hook/wh');
$primary->safe_psql('postgres', qq{
CREATE EXTENSION slo_guard;
SELECT slo_add_target('wh', 'webhook', '$u');
SELECT slo_add_check('missing_' || i, 'table_exists', jsonb_build_object('tables', jsonb_build_array('nope_' || i)),
                     'P1', '1 second')
  FROM generate_series(1, 5) i;
});
$primary->backup('bk');
my $standby = PostgreSQL::Test::Cluster->new('fault_dstandby');
$standby->init_from_backup($primary, 'bk', has_streaming => 1);
$standby->start;

ok($primary->poll_query_until('postgres',
	"SELECT count(*) = 5 FROM slo_delivery WHERE state = 'queued' AND attempts >= 1"),
	'five firing deliveries queued on the primary, each tried against the receiver that is down');
$primary->wait_for_catchup($standby);
$primary->stop('immediate');
my $queued = $standby->safe_psql('postgres', "SELECT count(*) FROM slo_delivery WHERE state <> 'delivered'");
is($queued, '5', 'the standby has the five undelivered deliveries');
my @before = grep { $_->{answer} eq '200' } $srv->requests('wh');
is(scalar(@before), 0, 'none answered yet');

$srv->set_script('wh', '200');
$standby->promote;
ok($standby->poll_query_until('postgres',
	"SELECT count(*) = 0 FROM slo_delivery WHERE state <> 'delivered'"),
	'the new primary delivers them all');
sleep 2;    # a second send would show up now
my %per_key;
for my $r (grep { $_->{answer} eq '200' } $srv->requests('wh'))
{
	my ($k) = grep { lc($_) eq 'idempotency-key' } keys %{ $r->{headers} };
	$per_key{ $r->{headers}{$k} // 'none' }++;
}
is(scalar(keys %per_key), 5, 'five distinct deliveries answered');
is(scalar(grep { $per_key{$_} != 1 } keys %per_key), 0, 'each exactly once');
is($standby->safe_psql('postgres', q{
SELECT count(*) FROM slo_delivery d JOIN slo_alert_event e ON e.id = d.event_id WHERE e.event = 'firing'}),
	'5', 'one delivery per firing event, none written twice');
ok(!$standby->log_contains(qr/terminated by signal|TRAP:|PANIC/), 'no crash on the new primary');
$standby->stop;
$srv->stop;
done_testing();
