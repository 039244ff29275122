# A check added, altered or dropped is picked up at once: the committing
# session sets the worker's latch (SloWorkerWakeOnCommit, as pg_net's wake()),
# so a long slo_guard.naptime does not delay a new check, and an idle worker
# does not need to poll often.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $node = PostgreSQL::Test::Cluster->new('wake');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = '1h'
});
$node->start;

# Restart so that the worker finds the extension at once, sees no check and
# goes to sleep for an hour.
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
my $offset = -s $node->logfile;
$node->restart;
ok($node->wait_for_log(qr/slo_guard worker serving database "postgres"/, $offset),
	'worker has seen the extension');
ok( $node->poll_query_until(
		'postgres', q{
SELECT wait_event = 'Extension' FROM pg_stat_activity WHERE backend_type = 'slo_guard'}),
	'worker idle, sleeping for slo_guard.naptime');

# Poll for at most $secs seconds (far less than the naptime).
sub within
{
	my ($secs, $query) = @_;
	my $deadline = time() + $secs;
	while (time() < $deadline)
	{
		return 1 if $node->safe_psql('postgres', $query) eq 't';
		usleep(100_000);
	}
	return 0;
}

$node->safe_psql('postgres', q{
CREATE TABLE users (id int);
SELECT slo_add_check('critical_tables', 'table_exists', '{"tables": ["users"]}',
                     every => '1 second');
});
ok( within(15,
		"SELECT state = 'ok' FROM slo_status() WHERE name = 'critical_tables'"),
	'a new check runs at once, not after the naptime');

# Re-enabling a disabled check wakes the worker too.
$node->safe_psql('postgres', "SELECT slo_alter_check('critical_tables', enabled => false)");
$node->safe_psql('postgres', "DROP TABLE users");
$node->safe_psql('postgres', "SELECT slo_alter_check('critical_tables', enabled => true)");
ok( within(15,
		"SELECT state = 'firing' FROM slo_status() WHERE name = 'critical_tables'"),
	'a re-enabled check runs at once');

$node->stop;
done_testing();
