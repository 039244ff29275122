# Issue 9: a run worker does not hold a transaction (nor its claims) open while
# asynchronous checks are in flight.  Test builds only (the test_async kind and
# a procedure that runs a worker's loop: SloAsyncDefer, SloRunDueBatch, commit,
# SloAsyncPoll, SloAsyncFinish in a new transaction).  While the checks are in
# flight their state rows are not locked, a lease (next_run in the future)
# keeps due runs off them, and afterwards each result is written once; a check
# altered while in flight is let go (its result is not written).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('run9_async');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'slo_guard'\nslo_guard.enabled = off\n");
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE PROCEDURE async_worker(int, int) AS 'slo_guard', 'slo_test_async_worker' LANGUAGE C;
	SELECT slo_add_check('p' || i, 'test_async', '{"ms": 1500}') FROM generate_series(1, 5) i;
	SELECT slo_add_check('p_altered', 'test_async', '{"ms": 1500}');
});

my $w = $node->background_psql('postgres');
$w->query_until(qr/started/, q{
	\echo started
	CALL async_worker(100, 1000);
	\echo finished
});
# let the worker start the checks and commit
ok($node->poll_query_until('postgres', q{
	SELECT count(*) = 6 FROM slo_check_state WHERE next_run > now() + interval '5 s'}),
	'started checks got a lease (next_run = start + timeout + 1 s)');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM (SELECT * FROM slo_check_state FOR UPDATE NOWAIT) s}), '6',
	'while they are in flight, no claim is held: every state row can be locked at once');
is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_run_checks()'), '0',
	'a due run leaves the in-flight checks alone (their lease)');
$node->safe_psql('postgres', q{SELECT slo_alter_check('p_altered', params => '{"ms": 10}')});
$w->query_until(qr/finished/, '');
$w->quit;

is($node->safe_psql('postgres', q{
	SELECT count(*), count(DISTINCT check_id), min(value) >= 1490, bool_and(status = 'ok')
	  FROM slo_result WHERE check_name ~ '^p[0-9]$'}), '5|5|t|t',
	'each in-flight check was finished in a later transaction: one ok result each, value = elapsed ms');
is($node->safe_psql('postgres', q{
	SELECT count(*) FROM slo_status() WHERE name ~ '^p[0-9]$' AND state = 'ok'
	   AND next_run < now() + interval '2 minutes'}), '5',
	'their state written, next_run back on the grid');
is($node->safe_psql('postgres', q{SELECT count(*) FROM slo_result WHERE check_name = 'p_altered'}), '0',
	'a check altered while in flight is let go: no stale result written');
is($node->safe_psql('postgres', q{SELECT state FROM slo_status() WHERE name = 'p_altered'}), 'unknown',
	'it runs again from its new definition');

$node->stop;
done_testing();
