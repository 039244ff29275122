# Issue 8, attacks 3 and 4: only a real cancel of the session ends a pass, and
# a check cannot escape its timeout.
#  - a check raising SQLSTATE 57014 (or 40P01, 40001) is that check's error:
#    the other checks of the pass keep their results, the worker keeps passing;
#  - pg_cancel_backend() and the session's statement_timeout still end a pass;
#  - a check that catches query_canceled is still recorded as timed out, and
#    the pass does not wait for it; a "timeout" param cannot exceed
#    slo_guard.check_timeout.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('sec_cancel');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
slo_guard.naptime = 200ms
slo_guard.check_timeout = 1s
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
CREATE FUNCTION raise_state(state text) RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION USING ERRCODE = state, MESSAGE = 'raised ' || state;
END $$;
SELECT slo_add_check('before', 'table_exists', '{"tables": ["users"]}', every => '1 second');
SELECT slo_add_check('fake_cancel', 'sql', '{"query": "SELECT raise_state(''57014'')"}', every => '1 second');
SELECT slo_add_check('fake_deadlock', 'sql', '{"query": "SELECT raise_state(''40P01'')"}', every => '1 second');
SELECT slo_add_check('fake_serialization', 'sql', '{"query": "SELECT raise_state(''40001'')"}', every => '1 second');
SELECT slo_add_check('after', 'table_exists', '{"tables": ["users"]}', every => '1 second');
});

# --- attack 3: a check's own 57014 does not end the pass ----------------------

is( $node->safe_psql('postgres', q{
	SELECT string_agg(check_name || '=' || status, ',' ORDER BY check_id) FROM slo_run_checks(false)}),
	'before=ok,fake_cancel=error,fake_deadlock=error,fake_serialization=error,after=ok',
	'a check raising 57014, 40P01 or 40001 is its own error; the other checks have results');
like($node->safe_psql('postgres', "SELECT summary FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id WHERE c.name = 'fake_cancel'"),
	qr/raised 57014 \(SQLSTATE 57014\)/, 'the 57014 check records its own message');
is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_result'), '5', 'all five results stored');

# --- attack 4: the timeout cannot be escaped ----------------------------------

$node->safe_psql('postgres', q{
-- catches the cancel and keeps working
CREATE FUNCTION stubborn() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM pg_sleep(30);
  EXCEPTION WHEN query_canceled THEN
    PERFORM pg_sleep(7);
  END;
  RETURN 1;
END $$;
-- catches the cancel and returns at once, as if all was well
CREATE FUNCTION swallow() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  BEGIN
    PERFORM pg_sleep(30);
  EXCEPTION WHEN query_canceled THEN
    RETURN 1;
  END;
  RETURN 1;
END $$;
UPDATE slo_check SET enabled = false;
SELECT slo_add_check('stubborn', 'sql', '{"query": "SELECT stubborn()"}');
SELECT slo_add_check('swallow', 'sql', '{"query": "SELECT swallow()"}');
SELECT slo_add_check('long_param', 'sql', '{"query": "SELECT 1 FROM pg_sleep(6)", "timeout": "1 day"}');
SELECT slo_add_check('short_param', 'sql', '{"query": "SELECT 1 FROM pg_sleep(6)", "timeout": "300 ms"}');
});
my $t0 = time();
my $res = $node->safe_psql('postgres', q{
	SELECT string_agg(check_name || '=' || status || ':' || summary, E'\n' ORDER BY check_id)
	  FROM slo_run_checks(false)});
my $elapsed = time() - $t0;
like($res, qr/^stubborn=error:Check timed out after 1000 ms and was cancelled\.$/m,
	'a check that catches the cancel and works on is recorded as timed out');
like($res, qr/^swallow=error:Check timed out after 1000 ms and was cancelled\.$/m,
	'a check that swallows the cancel is recorded as timed out, not ok');
like($res, qr/^long_param=error:Check timed out after 1000 ms/m,
	'a "timeout" param of 1 day is cut to slo_guard.check_timeout (1 s)');
like($res, qr/^short_param=error:Check timed out after 300 ms/m, 'a shorter "timeout" param still applies');
cmp_ok($elapsed, '<', 8, sprintf('the pass of four timed-out checks returned in %.1f s', $elapsed));

# --- a real cancel still ends the pass ----------------------------------------

$node->safe_psql('postgres', q{
ALTER SYSTEM SET slo_guard.check_timeout = '60s';
SELECT pg_reload_conf();
UPDATE slo_check SET enabled = false;
SELECT slo_add_check('slow', 'sql', '{"query": "SELECT 1 FROM pg_sleep(30)"}');
SELECT slo_add_check('slow_stubborn', 'sql', '{"query": "SELECT stubborn()"}');
});
my $results_before = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_result');

# the session's statement_timeout
$t0 = time();
my ($ret, $out, $err) = $node->psql('postgres',
	"SET statement_timeout = '1s'; SELECT count(*) FROM slo_run_checks(false)");
$elapsed = time() - $t0;
like($err, qr/canceling statement due to statement timeout/, "the session's statement_timeout ends the pass");
cmp_ok($elapsed, '<', 10, sprintf('... after %.1f s', $elapsed));

# pg_cancel_backend() of the session, with the check catching query_canceled
$node->safe_psql('postgres', "SELECT slo_alter_check('slow', enabled => false)");
my ($stdout, $stderr) = ('', '');
$t0 = time();
my $h = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
	  "SET application_name = 'slow_pass'; SELECT count(*) FROM slo_run_checks(false)" ],
	'>', \$stdout, '2>', \$stderr);
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE application_name = 'slow_pass' AND query LIKE '%slo_run_checks%' AND state = 'active'}),
	'the slow pass is running');
usleep(300_000);
$node->safe_psql('postgres',
	"SELECT pg_cancel_backend(pid) FROM pg_stat_activity WHERE application_name = 'slow_pass'");
$h->finish;
$elapsed = time() - $t0;
like($stderr, qr/canceling statement due to user request/,
	'pg_cancel_backend() ends the pass even though the check catches query_canceled');
cmp_ok($elapsed, '<', 5, sprintf('... after %.1f s', $elapsed));
is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_result'), $results_before,
	'the cancelled pass stored nothing');

# the caller's lock_timeout firing inside a check is that check's error, not a cancel
$node->safe_psql('postgres', q{
UPDATE slo_check SET enabled = false;
CREATE TABLE busy (id int);
SELECT slo_add_check('waits', 'sql', '{"query": "SELECT count(*) FROM busy"}');
SELECT slo_add_check('after_wait', 'table_exists', '{"tables": ["users"]}');
});
my $locker = $node->background_psql('postgres');
$locker->query_safe('BEGIN; LOCK TABLE busy IN ACCESS EXCLUSIVE MODE');
$res = $node->safe_psql('postgres', q{
	SET lock_timeout = '200ms';
	SELECT string_agg(check_name || '=' || status || ':' || summary, E'\n' ORDER BY check_id)
	  FROM slo_run_checks(false)});
like($res, qr/^waits=error:.*lock timeout/m, "the caller's lock_timeout inside a check is that check's error");
like($res, qr/^after_wait=ok:/m, '... and the pass goes on');
$locker->query_safe('ROLLBACK');
$locker->quit;

# --- the worker keeps passing beside a check raising 57014 --------------------

$node->safe_psql('postgres', q{
UPDATE slo_check SET enabled = (name IN ('before', 'fake_cancel', 'fake_deadlock', 'after'));
ALTER SYSTEM SET slo_guard.enabled = on;
SELECT pg_reload_conf();
});
my $deadline = time() + 20;
my $n = 0;
while (time() < $deadline)
{
	$n = $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_result WHERE check_name = 'after' AND status = 'ok'");
	last if $n >= 4;
	usleep(200_000);
}
cmp_ok($n, '>=', 4, 'the worker keeps passing (4 results of the check after the 57014 one)');
is( $node->safe_psql('postgres', q{
	SELECT count(*) FROM slo_result r WHERE check_name = 'fake_cancel'
	   AND at > (SELECT min(at) FROM slo_result WHERE check_name = 'after' AND status = 'ok'
	              AND at > now() - interval '1 minute')}) > 0 ? 1 : 0,
	1, 'the worker records the 57014 check\'s results');
ok(!$node->log_contains(qr/pass failed/), 'no worker pass failed');

$node->stop;
done_testing();
