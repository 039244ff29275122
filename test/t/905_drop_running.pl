# Issue 9's leftover (done in issue 15): dropping or altering a check that the
# worker is running does not wait for its run to end.  A check sleeping 5 s runs
# in a run worker; slo_drop_check returns within 2 s (it asks the run worker to
# give the check up: cancelled at its next 100 ms tick, the run discarded), and
# the late result never lands: no result, state, alert or event row of the
# dropped check, no error in the log.  The same for slo_alter_check of params
# and of enabled: the old run is discarded, the new definition runs next.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time);

my $node = PostgreSQL::Test::Cluster->new('drop_running');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 100ms
slo_guard.check_timeout = 20s
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
SELECT slo_add_check('fast', 'table_exists', '{"tables": ["pg_class"]}', every => '1 second');
});
ok($node->poll_query_until('postgres', "SELECT count(*) >= 1 FROM slo_result WHERE check_name = 'fast'"),
	'the worker runs checks');

# Wait until a run worker holds the claim of the named check (its state row is locked).
sub wait_running
{
	my ($name) = @_;
	return $node->poll_query_until('postgres', qq{
SELECT NOT EXISTS (SELECT FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id
                    WHERE c.name = '$name' FOR UPDATE OF s SKIP LOCKED)});
}

sub timed
{
	my ($sql) = @_;
	my $t0 = time();
	my $out = $node->safe_psql('postgres', $sql);
	return ($out, time() - $t0);
}

# --- drop ----------------------------------------------------------------------
my $id = $node->safe_psql('postgres', q{
SELECT slo_add_check('sleeper', 'sql', '{"query": "SELECT count(*) FROM pg_sleep(5)"}', severity => 'P0', every => '1 second')});
ok(wait_running('sleeper'), 'the sleeping check is being run by the worker');
select(undef, undef, undef, 0.5);
my ($dropped, $secs) = timed(q{SELECT slo_drop_check('sleeper')});
is($dropped, 't', 'slo_drop_check succeeds');
ok($secs < 2, sprintf('and returns in %.2f s, not after the 5 s run', $secs));
sleep 6;    # the run would have ended by now
is($node->safe_psql('postgres', qq{
SELECT (SELECT count(*) FROM slo_result WHERE check_id = $id) + (SELECT count(*) FROM slo_check_state WHERE check_id = $id)
     + (SELECT count(*) FROM slo_alert WHERE check_id = $id) + (SELECT count(*) FROM slo_check WHERE id = $id)}),
	'0', 'the late result was discarded: no result, state or alert row of the dropped check');

# --- alter params -----------------------------------------------------------------
$id = $node->safe_psql('postgres', q{
SELECT slo_add_check('sleeper2', 'sql', '{"query": "SELECT count(*) FROM pg_sleep(5)"}', every => '1 second')});
ok(wait_running('sleeper2'), 'a second sleeping check is being run');
select(undef, undef, undef, 0.5);
my ($altered, $secs2) = timed(q{SELECT slo_alter_check('sleeper2', params => '{"query": "SELECT 42"}')});
ok($secs2 < 2, sprintf('slo_alter_check(params) returns in %.2f s', $secs2));
ok($node->poll_query_until('postgres', qq{SELECT count(*) >= 1 FROM slo_result WHERE check_id = $id AND value = 42}),
	'the new definition runs next');
sleep 5;
is($node->safe_psql('postgres', qq{SELECT count(*) FROM slo_result WHERE check_id = $id AND (value IS DISTINCT FROM 42 OR duration_ms > 4000)}),
	'0', 'no result of the old, given-up run');

# --- alter enabled ----------------------------------------------------------------
$node->safe_psql('postgres', q{SELECT slo_alter_check('sleeper2', params => '{"query": "SELECT count(*) FROM pg_sleep(5)"}')});
ok(wait_running('sleeper2'), 'sleeping again');
select(undef, undef, undef, 0.5);
my $before = $node->safe_psql('postgres', qq{SELECT count(*) FROM slo_result WHERE check_id = $id});
my (undef, $secs3) = timed(q{SELECT slo_alter_check('sleeper2', enabled => false)});
ok($secs3 < 2, sprintf('slo_alter_check(enabled => false) returns in %.2f s', $secs3));
sleep 5;
is($node->safe_psql('postgres', qq{SELECT count(*) FROM slo_result WHERE check_id = $id}), $before,
	'the disabled check stores no late result');

# --- the worker is fine --------------------------------------------------------------
my $n = $node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE check_name = 'fast'");
ok($node->poll_query_until('postgres', "SELECT count(*) > $n + 1 FROM slo_result WHERE check_name = 'fast'"),
	'the worker keeps running the other checks');
ok(!$node->log_contains(qr/pass failed|job "\w+" failed|TRAP:|terminated by signal/), 'no failed pass or crash in the log');
$node->stop;
done_testing();
