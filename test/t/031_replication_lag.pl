# replication_lag with a real streaming standby: ok while it keeps up; fails on the
# primary while the standby's replay is paused and the primary writes; clears
# after pg_wal_replay_resume(); an abandoned slot retaining WAL fails too.  The
# same check run on the standby (slo_run_checks there runs read-only) sees its own
# replay delay, and an idle primary is no lag there.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $primary = PostgreSQL::Test::Cluster->new('primary');
$primary->init(allows_streaming => 1);
$primary->start;
$primary->safe_psql('postgres', q{
	CREATE EXTENSION slo_guard;
	SELECT slo_add_check('lag', 'replication_lag', '{"max_lag": "1 second"}');
	SELECT slo_add_check('lag_slot', 'replication_lag', '{"slot_max_bytes": 65536}');
	CREATE TABLE writes (id int);
});

# Run the checks on a node (all run; the named one's result is returned as a hash).
sub run_on
{
	my ($node, $name) = @_;
	my $row = $node->safe_psql('postgres', qq{
		SELECT json_build_object('status', status, 'value', value, 'summary', summary,
		                         'detail', detail)
		  FROM slo_run_checks(false) WHERE check_name = '$name'});
	return decode_json($row);
}
sub run_check { return run_on($primary, @_); }

# Run until the check reports the wanted status (bounded); returns that result.
sub wait_result
{
	my ($node, $name, $status) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my $r = run_on($node, $name);
		return $r if $r->{status} eq $status;
		select(undef, undef, undef, 0.2);
	}
	die "check $name on " . $node->name . " never became $status";
}

my $r = run_check('lag');
is($r->{status}, 'ok', 'primary without standbys: ok');
is($r->{summary}, 'No standbys attached.', 'primary without standbys: summary');

$primary->backup('backup');
my $standby = PostgreSQL::Test::Cluster->new('standby');
$standby->init_from_backup($primary, 'backup', has_streaming => 1);
# replies every second, so the primary's view of the lag moves while replay is stuck
$standby->append_conf('postgresql.conf', "wal_receiver_status_interval = 1s\n");
$standby->start;
$primary->wait_for_catchup($standby);

# Every slo_run_checks() writes its results: the primary keeps producing WAL
# while we poll, as a busy primary would.
$r = wait_result($primary, 'lag', 'ok');
like($r->{summary}, qr/^Standby standby is [0-9.]+ s behind in replay \([0-9.]+ k?B of WAL\), within the 1 s allowed\.$/,
	'streaming standby: ok, with its lag');
is($r->{detail}{standbys}[0]{name}, 'standby', 'streaming standby: listed by application_name');
is($r->{detail}{standbys}[0]{state}, 'streaming', 'streaming standby: state');
is($r->{detail}{role}, 'primary', 'detail says it ran on the primary');

# On the standby: with an idle primary everything received is replayed, so there
# is no lag, however old the last replayed transaction.
$primary->wait_for_catchup($standby);
$standby->poll_query_until('postgres', q{
	SELECT pg_last_xact_replay_timestamp() < clock_timestamp() - interval '1.5 seconds'})
  or die 'the primary never went idle';
$r = run_on($standby, 'lag');
is($r->{status}, 'ok', 'standby, idle primary: ok');
like($r->{summary},
	qr/^This standby has replayed all the WAL it received, so it is not behind \(its last replayed transaction is [0-9.]+ s old: the primary has been idle\)\.$/,
	'standby, idle primary: summary explains why an old last transaction is no lag');
is($r->{detail}{role}, 'standby', 'standby: detail says it ran on the standby');
is($r->{detail}{wal_receiver}, 'streaming', 'standby: its WAL receiver is streaming');

# Pause replay on the standby and keep writing on the primary.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_pause()');
$standby->poll_query_until('postgres', "SELECT pg_get_wal_replay_pause_state() = 'paused'")
  or die 'replay did not pause';
$primary->safe_psql('postgres', 'INSERT INTO writes SELECT generate_series(1, 1000)');
$r = wait_result($primary, 'lag', 'fail');
is($r->{status}, 'fail', 'paused replay: the primary reports the standby lagging');
like($r->{summary},
	qr/^Standby standby is [0-9.]+ s behind in replay \([0-9.]+ [kM]?B of WAL\), more than the 1 s allowed\.$/,
	'paused replay: summary names the standby, its lag and bytes behind');
cmp_ok($r->{value}, '>', 1, 'paused replay: value is the lag in seconds');
cmp_ok($r->{detail}{standbys}[0]{bytes_behind}, '>', 0, 'paused replay: bytes behind in the detail');

$r = wait_result($standby, 'lag', 'fail');
is($r->{status}, 'fail', 'standby, paused replay: the standby reports its own lag');
like($r->{summary},
	qr/^This standby is [0-9.]+ s behind its primary in replay \([0-9.]+ [kM]?B of WAL received but not replayed\), more than the 1 s allowed \(replay is paused: pg_wal_replay_resume\(\) resumes it\)\.$/,
	'standby, paused replay: summary gives lag, unreplayed WAL and the pause');
cmp_ok($r->{value}, '>', 1, 'standby, paused replay: value is the lag in seconds');
is($r->{detail}{replay_paused}, JSON::PP::true, 'standby, paused replay: detail says paused');

# Resume: the standby catches up and the lag clears on both sides.
$standby->safe_psql('postgres', 'SELECT pg_wal_replay_resume()');
$r = wait_result($primary, 'lag', 'ok');
is($r->{status}, 'ok', 'resumed replay: ok again');
cmp_ok($r->{value}, '<=', 1, 'resumed replay: lag within max_lag');
$r = wait_result($standby, 'lag', 'ok');
is($r->{detail}{caught_up}, JSON::PP::true, 'standby, resumed replay: caught up');

# An abandoned slot that holds WAL back (the standby does not use a slot).
$primary->safe_psql('postgres',
	"SELECT 1 FROM pg_create_physical_replication_slot('abandoned', true)");
$primary->safe_psql('postgres', 'INSERT INTO writes SELECT generate_series(1, 10000)');
$r = run_check('lag_slot');
is($r->{status}, 'fail', 'inactive slot past slot_max_bytes: fail');
like($r->{summary},
	qr/^Inactive replication slot abandoned retains [0-9.]+ [kMG]B of WAL, more than the 64\.0 kB allowed \(drop it or reconnect its consumer\)\.$/,
	'inactive slot: summary names the slot and how much it retains');
is($r->{detail}{inactive_slots}[0]{slot}, 'abandoned', 'inactive slot: in the detail');
$primary->safe_psql('postgres', "SELECT pg_drop_replication_slot('abandoned')");
is(run_check('lag_slot')->{status}, 'ok', 'slot dropped: ok');

$standby->stop;
$primary->stop;
done_testing();
