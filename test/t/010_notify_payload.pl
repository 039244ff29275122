# NOTIFY payloads, checked field by field from a separate session that LISTENs:
# firing and resolved events, labels carried, ISO 8601 time, database name, and the
# 8000-byte NOTIFY limit respected when labels and summaries are huge.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('notify');
$node->init;
$node->append_conf('postgresql.conf', "slo_guard.enabled = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE TABLE users (id int);
	SELECT slo_add_check('critical_tables', 'table_exists',
	  '{"tables": ["users", "consent_records"]}', severity => 'P0',
	  labels => '{"category": "db_health", "runbook": "https://wiki.example/db"}');
	SELECT slo_add_check('huge', 'table_exists', '{"tables": ["nowhere"]}',
	  labels => jsonb_build_object('blob', repeat('x', 20000)));
});

# Start a listener that stays connected for a while, run checks from another session
# while it listens, and return the payloads it received.
sub listen_while
{
	my ($sql) = @_;
	my ($stdout, $stderr) = ('', '');
	my $h = IPC::Run::start(
		[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'LISTEN slo_guard',
		  '-c', 'SELECT pg_sleep(4)', '-c', 'SELECT 1' ],
		'>', \$stdout, '2>', \$stderr,
		IPC::Run::timeout(60));
	$node->poll_query_until('postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(4)'")
	  or die "listener did not start";
	$node->safe_psql('postgres', $sql);
	$h->finish;
	my @payloads;
	while ($stdout =~ /Asynchronous notification "slo_guard" with payload "(.*)" received from server process with PID \d+\./g)
	{
		push @payloads, decode_json($1);
	}
	return @payloads;
}

my @got = listen_while('SELECT count(*) FROM slo_run_checks(false)');
is(scalar(@got), 2, 'two firing events received by the listening session');
my ($fire) = grep { $_->{check} eq 'critical_tables' } @got;
ok($fire, 'event for critical_tables');
is($fire->{event}, 'firing', 'event');
my $alert_id = $node->safe_psql('postgres',
	"SELECT id FROM slo_alert WHERE check_name = 'critical_tables'");
is($fire->{alert_id}, $alert_id, 'alert_id matches slo_alert');
is($fire->{kind}, 'table_exists', 'kind');
is($fire->{severity}, 'P0', 'severity');
is($fire->{status}, 'fail', 'status');
is($fire->{value}, 1, 'value = number of missing tables');
is($fire->{summary}, '1 of 2 tables missing: consent_records.', 'summary');
is_deeply($fire->{labels}, { category => 'db_health', runbook => 'https://wiki.example/db' },
	'labels carried into the alert');
like($fire->{at}, qr/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?[+-]\d\d:\d\d$/, 'at is ISO 8601');
is($fire->{database}, 'postgres', 'database');
is_deeply([ sort keys %$fire ],
	[ sort qw(event alert_id check kind severity status value summary labels at database) ],
	'exactly the documented fields');

my ($huge) = grep { $_->{check} eq 'huge' } @got;
ok($huge, 'a payload with 20 kB of labels was still sent');
ok($huge->{labels}{_truncated}, 'labels cut and marked as truncated');
my $len = $node->safe_psql('postgres',
	"SELECT max(octet_length(payload::text)) FROM slo_alert_event");
cmp_ok($len, '<', 8000, 'stored payloads stay under the NOTIFY limit');

# Resolve: the same listener sees the resolved event with the ok status.
@got = listen_while(q{
	CREATE TABLE consent_records (id int);
	SELECT count(*) FROM slo_run_checks(false);
});
is(scalar(@got), 1, 'one event on resolve');
is($got[0]{event}, 'resolved', 'resolved event');
is($got[0]{alert_id}, $alert_id, 'same alert id');
is($got[0]{status}, 'ok', 'status ok');
is($got[0]{value}, 0, 'value 0');

# The channel name is a setting.
my ($out) = $node->psql('postgres', q{
	SET slo_guard.notify_channel = 'oncall';
	LISTEN oncall;
	DROP TABLE consent_records;
	SELECT count(*) FROM slo_run_checks(false);
}, stdout => \my $stdout2);
like($stdout2, qr/Asynchronous notification "oncall" with payload "\{"event":"firing"/,
	'slo_guard.notify_channel changes the channel');

$node->stop;
done_testing();
