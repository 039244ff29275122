# Issue 8, attack 2: nothing a check sets or takes leaks out of it.  The
# attacker's sql check calls set_config(..., false) on search_path,
# default_transaction_read_only and exit_on_error and takes advisory locks;
# a superuser's pass then leaves its session exactly as it was (settings, the
# meaning of now(), its own advisory locks), and the worker keeps passing.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('sec_state');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
slo_guard.naptime = 200ms
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE ROLE oncall;
GRANT USAGE ON SCHEMA public TO oncall;
GRANT EXECUTE ON FUNCTION slo_status(), slo_kinds() TO oncall;
GRANT SELECT ON slo_check, slo_check_state, slo_result, slo_alert, slo_alert_event TO oncall;
CREATE ROLE attacker LOGIN;
GRANT oncall TO attacker;
GRANT EXECUTE ON FUNCTION
    slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
    slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
    slo_drop_check(text, boolean),
    slo_run_checks(boolean) TO attacker;
GRANT pg_monitor TO attacker;
CREATE SCHEMA attacker_s AUTHORIZATION attacker;
CREATE TABLE users (id int);
SELECT slo_add_check('canary', 'table_exists', '{"tables": ["users"]}', every => '1 second');
});

# The attacker's schema holds a now() that makes it superuser, and its check
# points every later statement of the caller at it.
$node->safe_psql('postgres', q{
CREATE FUNCTION attacker_s.now() RETURNS timestamptz LANGUAGE plpgsql AS $$
BEGIN
  ALTER ROLE attacker SUPERUSER;
  RETURN pg_catalog.now();
END $$;
GRANT USAGE ON SCHEMA attacker_s TO PUBLIC;
SELECT slo_add_check('taint', 'sql', jsonb_build_object('query', $q$
  SELECT length(set_config('search_path', 'attacker_s, pg_catalog, public', false)
               || set_config('default_transaction_read_only', 'on', false)
               || set_config('work_mem', '64kB', false))
        + (SELECT count(*) FROM pg_advisory_lock(42))
        + (SELECT count(*) FROM pg_advisory_lock(43))
        + (SELECT count(*) FROM pg_advisory_xact_lock(44))
        + (SELECT count(*) FROM pg_advisory_lock_shared(45))$q$), every => '1 second');
-- the same, then an error: the rollback path must undo it as well
SELECT slo_add_check('taint_then_fail', 'sql', jsonb_build_object('query', $q$
  WITH t AS MATERIALIZED (
     SELECT set_config('search_path', 'attacker_s, pg_catalog, public', false) AS a,
            (SELECT count(*) FROM pg_advisory_lock(46)) AS c)
  SELECT 1 / (SELECT count(*) - 1 FROM t)$q$), every => '1 second');
-- exit_on_error would turn the check's next error into FATAL: refused inside a check,
-- whether by set_config() or by a function's SET clause
CREATE FUNCTION attacker_s.fatal() RETURNS int LANGUAGE plpgsql SET exit_on_error = on AS $$
BEGIN
  RETURN 1 / 0;
END $$;
SELECT slo_add_check('taint_exit', 'sql', jsonb_build_object('query', $q$
  WITH t AS MATERIALIZED (SELECT set_config('exit_on_error', 'on', false) AS a)
  SELECT 1 / (SELECT count(*) - 1 FROM t)$q$), every => '1 second');
SELECT slo_add_check('taint_exit_fn', 'sql', '{"query": "SELECT attacker_s.fatal()"}',
                     every => '1 second');
}, extra_params => [ '-U', 'attacker' ]);

sub not_superuser
{
	my ($what) = @_;
	is($node->safe_psql('postgres', "SELECT rolsuper FROM pg_roles WHERE rolname = 'attacker'"),
		'f', "$what: the attacker is still not superuser");
}

# --- a superuser's session ----------------------------------------------------

my $su = $node->background_psql('postgres', on_error_stop => 0);
$su->query_safe(q{SET search_path = public; SET work_mem = '7MB'});
# the caller's own advisory locks: 7 (kept), 42 (which the check takes again)
$su->query_safe('SELECT pg_advisory_lock(7), pg_advisory_lock(42)');
is($su->query_safe(q{
	SELECT string_agg(check_name || '=' || status, ',' ORDER BY check_name)
	  FROM slo_run_checks(false)}),
	'canary=ok,taint=ok,taint_exit=error,taint_exit_fn=error,taint_then_fail=error',
	'the pass ran every check; the session survived the exit_on_error checks');
like( $su->query_safe(q{SELECT string_agg(summary, ' / ') FROM slo_check_state s
	JOIN slo_check c ON c.id = s.check_id WHERE c.name LIKE 'taint_exit%'}),
	qr/exit_on_error cannot be turned on inside a check.*exit_on_error cannot be turned on inside a check/,
	'turning exit_on_error on inside a check is that check\'s error');

is($su->query_safe('SHOW search_path'), 'public', 'search_path unchanged');
is($su->query_safe('SHOW default_transaction_read_only'), 'off',
	'default_transaction_read_only unchanged');
is($su->query_safe('SHOW exit_on_error'), 'off', 'exit_on_error unchanged');
is($su->query_safe('SHOW work_mem'), '7MB', "the caller's own setting unchanged");
is($su->query_safe(q{SELECT 'now()'::regprocedure::oid = 'pg_catalog.now()'::regprocedure::oid}),
	't', 'now() still resolves to pg_catalog.now');
$su->query_safe('SELECT now()');
not_superuser('after SELECT now()');

is( $su->query_safe(q{
	SELECT string_agg(objid::text || ':' || mode, ',' ORDER BY objid, mode) FROM pg_locks
	 WHERE locktype = 'advisory' AND pid = pg_backend_pid()}),
	'7:ExclusiveLock,42:ExclusiveLock',
	"only the caller's own advisory locks are held after the pass (43..46 released)");
is($su->query_safe('SELECT pg_advisory_unlock(42)'), 't', "the caller releases its lock 42 once");
is( $su->query_safe(q{
	SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND pid = pg_backend_pid()
	   AND objid = 42}),
	'0', 'and then 42 is free: the check\'s extra hold on it was released');

# transaction-level: a pass inside the caller's transaction
$su->query_safe('BEGIN');
$su->query_safe('SELECT pg_advisory_xact_lock(8)');
$su->query_safe('SELECT count(*) FROM slo_run_checks(false)');
is( $su->query_safe(q{
	SELECT string_agg(objid::text, ',' ORDER BY objid) FROM pg_locks
	 WHERE locktype = 'advisory' AND pid = pg_backend_pid()}),
	'7,8', 'inside a transaction: the check\'s transaction-level lock 44 is released at its end, the caller\'s 8 kept');
$su->query_safe('COMMIT');

# exit_on_error did not stick: an error leaves the session alive
$su->query('SELECT 1/0');
is($su->query('SELECT 42'), '42', 'an error after the pass does not end the session');
is($su->query('SHOW search_path'), 'public', 'search_path still unchanged');
$su->quit;

# another session is not locked out of 42 or 43
is($node->safe_psql('postgres', 'SELECT pg_try_advisory_lock(42) AND pg_try_advisory_lock(43)'),
	't', 'another session can take the locks the check took');

# --- the worker: naptime 200 ms, the tainting check runs every second ---------

$node->append_conf('postgresql.conf', "slo_guard.enabled = on\n");
$node->reload;
my $count = sub {
	my ($name) = @_;
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_result WHERE check_name = '$name' AND status = 'ok'");
};
my $before = $count->('canary');
my $taint_before = $count->('taint');
my $deadline = time() + 20;
my $runs = 0;
while (time() < $deadline)
{
	$runs = $count->('taint') - $taint_before;
	last if $runs >= 5;
	usleep(200_000);
}
cmp_ok($runs, '>=', 5, "the worker ran the tainting check $runs times");
cmp_ok($count->('canary') - $before, '>=', 3, 'the canary kept passing in the worker');
ok(!$node->log_contains(qr/pass failed/), 'no worker pass failed (no read-only leak)');
is( $node->safe_psql('postgres', q{
	SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a USING (pid)
	 WHERE l.locktype = 'advisory' AND a.backend_type IN ('slo_guard', 'slo_guard runner')}),
	'0', 'the worker and its run workers hold no advisory lock between passes');
not_superuser('with the worker running');

$node->stop;
done_testing();
