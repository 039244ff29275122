# Silences with the worker on: checks that fire inside a silence are recorded and held
# back (notified = false, no NOTIFY reaches a listener); when the silence expires, the
# worker's on-call job sends the firing event of the alert still open, once, and
# nothing for the alert that resolved inside; no escalation while silenced. Then the
# README's on-call role (Privileges section, run as written) acks, silences, lists,
# unsilences and reads a report with those grants only.
use strict;
use warnings;
use FindBin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(sleep);

# a failure should not wait the default 180 s per poll
$PostgreSQL::Test::Utils::timeout_default = 30;

my $node = PostgreSQL::Test::Cluster->new('oncall_sil');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.response_time_p1 = 1
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');

sub run_sql { return $node->safe_psql('postgres', $_[0]); }
sub events
{
	my ($check) = @_;
	return run_sql(qq{SELECT coalesce(string_agg(e.event || ':' || CASE WHEN e.notified THEN 'sent' ELSE 'held' END, ',' ORDER BY e.id), '')
	              FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id WHERE a.check_name = '$check'});
}

# a listener for the whole silence
my ($out, $err) = ('', '');
my $listener = IPC::Run::start(
	[ 'psql', '-X', '-d', $node->connstr('postgres'), '-c', 'LISTEN slo_guard',
	  '-c', 'SELECT pg_sleep(12)', '-c', 'SELECT 1' ],
	'>', \$out, '2>', \$err, IPC::Run::timeout(60));
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE query = 'SELECT pg_sleep(12)'")
  or die "listener did not start";

my $sid = run_sql(q{SELECT slo_silence('sx\_%', '5 seconds', 'deploy')});
run_sql(q{
	SELECT slo_add_check('sx_open', 'table_exists', '{"tables": ["sx_missing"]}', 'P1', every => '1 hour');
	SELECT slo_add_check('sx_resolve', 'table_exists', '{"tables": ["sx_t"]}', 'P1', every => '1 second');
	SELECT slo_add_check('other_open', 'table_exists', '{"tables": ["sx_missing"]}', 'P3', every => '1 hour');
});
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 3 FROM slo_alert WHERE state = 'firing'"), 'three alerts fire');
is(events('sx_open'), 'firing:held', 'inside the silence: firing stored, held back');
is(run_sql(q{SELECT state FROM slo_status() WHERE name = 'sx_open'}), 'silenced', 'slo_status shows silenced');
run_sql('CREATE TABLE sx_t (id int)');
ok($node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM slo_alert WHERE check_name = 'sx_resolve' AND state = 'resolved'"),
	'sx_resolve resolves inside the silence');
is(events('sx_resolve'), 'firing:held,resolved:held', 'both of its events held back');
sleep(1.5);
is(run_sql(q{SELECT count(*) FROM slo_alert WHERE check_name = 'sx_open' AND escalated_at IS NOT NULL}), '0',
	'a silenced alert is not escalated');

ok($node->poll_query_until('postgres',
	"SELECT ended_at IS NOT NULL FROM slo_silence WHERE id = $sid"), 'the silence expires');
is(run_sql("SELECT ended_at = ends_at AND ended_by IS NULL FROM slo_silence WHERE id = $sid"), 't',
	'ended by expiry (ended_by NULL)');
ok($node->poll_query_until('postgres',
	q{SELECT count(*) = 1 FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
	   WHERE a.check_name = 'sx_open' AND e.event = 'firing' AND e.notified}),
	'the still-firing alert gets its firing event when the silence ends');
is(run_sql(q{SELECT state FROM slo_status() WHERE name = 'sx_open'}), 'firing', 'slo_status shows firing again');
ok($node->poll_query_until('postgres',
	q{SELECT escalated_at IS NOT NULL FROM slo_alert WHERE check_name = 'sx_open'}),
	'escalation resumes once the silence is over');
sleep(1.5);
like(events('sx_open'), qr/^firing:held,firing:sent,escalated:sent$/, 'firing sent once, then escalated');
is(events('sx_resolve'), 'firing:held,resolved:held', 'nothing sent for the alert that resolved inside');

$listener->finish;
my @got;
while ($out =~ /Asynchronous notification "slo_guard" with payload "(.*)" received/g) { push @got, $1; }
my @sx_firing = grep { /"event":"firing"/ && /"check":"sx_open"/ } @got;
is(scalar(@sx_firing), 1, 'the listener got exactly one firing NOTIFY for sx_open (after the silence)');
is(scalar(grep { /"check":"sx_resolve"/ } @got), 0, 'and none for sx_resolve');
is(scalar(grep { /"check":"other_open"/ && /"event":"firing"/ } @got), 1, 'an unsilenced check was notified as always');

# --- the README's on-call role ----------------------------------------------------
open(my $fh, '<', "$FindBin::Bin/../../README.md") or die "README.md: $!";
my $readme = do { local $/; <$fh> };
close $fh;
my ($priv) = $readme =~ /\n## Privileges\n.*?```sql\n(.*?)```/s;
ok($priv && $priv =~ /slo_ack/ && $priv =~ /slo_silence/, "the README's role example grants the on-call functions");
run_sql($priv);
my $oid = run_sql(q{SELECT id FROM slo_alert WHERE check_name = 'other_open' AND state = 'firing'});
my ($ret, $stdout, $stderr) = $node->psql('postgres', qq{
	SET ROLE oncall;
	SELECT slo_ack($oid, 'paged, looking');
	SELECT slo_silence('other%', '10 minutes', 'investigating');
	SELECT count(*) FROM slo_silences();
	SELECT slo_unsilence(max(id)) FROM slo_silences();
	SELECT slo_incident_report($oid) LIKE '%| Acknowledged | by % paged, looking |%';
	SELECT state FROM slo_status() WHERE name = 'other_open';
}, on_error_stop => 1);
is($ret, 0, 'the on-call role of the README acks, silences, lists, unsilences and reads reports') or diag($stderr);
like($stdout, qr/^\n\d+\n1\n0\nt\nfiring$/, 'with the expected results');
($ret, $stdout, $stderr) = $node->psql('postgres', q{SET ROLE oncall; SELECT slo_drop_check('other_open')});
like($stderr, qr/permission denied for function slo_drop_check/, 'but it cannot drop checks');

$node->stop;
done_testing();
