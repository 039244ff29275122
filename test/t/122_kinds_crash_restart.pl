# Issue 8, attack 8: a crash-restart of the server does not restart the worker at once.
# A worker that dies by a signal (here SIGKILL, as a check crashing its backend would)
# makes the postmaster crash-restart the whole cluster.  Killing the worker whenever it
# shows up for 12 s must give only a few crash-restart cycles (the launcher waits 5 s
# after the first, 10 s after the second in a row, ...), not one every few hundred ms;
# and the worker comes back by itself and runs checks again.  Then the worker meets bad
# params rows: `error` results, no crash.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(time usleep);

my $node = PostgreSQL::Test::Cluster->new('kinds_crash_restart');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 200ms
restart_after_crash = on
});
$node->start;
$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION slo_guard;
	SELECT slo_add_check('tables', 'table_exists', '{"tables": ["pg_class"]}', every => '1 second');
});

# The worker's pid, or '' (also while the server is restarting).
sub worker_pid
{
	my ($rc, $out) = $node->psql('postgres',
		"SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard'");
	return $rc == 0 ? $out : '';
}

sub crash_cycles
{
	my $log = slurp_file($node->logfile);
	my @n = ($log =~ /all server processes terminated; reinitializing/g);
	return scalar(@n);
}

ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'the worker runs');

# Kill the worker whenever it is there, for 12 seconds.
my $start = time();
my ($kills, $killed_at, @gaps) = (0, undef);
while (time() - $start < 12)
{
	my $pid = worker_pid();
	if ($pid =~ /^\d+$/)
	{
		push @gaps, time() - $killed_at if defined $killed_at;
		kill 'KILL', $pid;
		$killed_at = time();
		$kills++;
	}
	usleep(100_000);
}
my $cycles = crash_cycles();
note "killed the worker $kills times; $cycles crash-restart cycles; gaps @gaps";
cmp_ok($kills, '>=', 2, 'the worker was killed more than once');
cmp_ok($cycles, '<=', 3, 'at most 3 crash-restart cycles in 12 s (without a delay: dozens)');
cmp_ok($gaps[0], '>=', 4.5, 'after the first crash-restart the worker came back only after ~5 s')
  if @gaps;
ok($node->log_contains(qr/slo_guard launcher: the server restarted after a crash \(1 in a row\); starting workers in 5 s/),
	'the launcher says why it waits');
ok($node->log_contains(qr/restarted after a crash \(2 in a row\); starting workers in 10 s/),
	'and waits longer after the second crash-restart in a row');

# It comes back by itself and runs checks again.
ok($node->poll_query_until('postgres', "SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'the worker comes back');
my $results = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_result');
ok($node->poll_query_until('postgres', "SELECT count(*) > $results FROM slo_result"),
	'and runs checks again');
is(crash_cycles(), $cycles, 'no crash-restart since');

# The worker meets params rows written around the validator (which used to crash the
# backend, and with it the whole cluster, over and over): each is an `error` naming the key.
$node->safe_psql(
	'postgres', q{
	SELECT slo_add_check('bad_setting', 'setting', '{"name": "app.x", "allowed": ["y"]}', every => '1 second');
	SELECT slo_add_check('bad_columns', 'columns_exist', '{"table": "t", "columns": ["c"]}', every => '1 second');
	SELECT slo_add_check('bad_migration', 'migration', '{"table": "alembic_version"}', every => '1 second');
	UPDATE slo_check SET params = params - 'name' WHERE name = 'bad_setting';
	UPDATE slo_check SET params = '{"table": "t", "columns": null}' WHERE name = 'bad_columns';
	UPDATE slo_check SET params = '[]' WHERE name = 'bad_migration';
});
ok( $node->poll_query_until(
		'postgres', q{
	SELECT count(DISTINCT check_name) = 3 FROM slo_result
	 WHERE check_name LIKE 'bad\_%' AND status = 'error' AND summary LIKE '%SQLSTATE 22023%'}),
	'the worker records an error for each bad params row');
like( $node->safe_psql('postgres',
		"SELECT summary FROM slo_status() WHERE name = 'bad_setting'"),
	qr/requires parameter "name"/, 'the error names the missing key');
is(crash_cycles(), $cycles, 'and nothing crashed');
is($node->safe_psql('postgres', "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'1', 'the worker is still there');

$node->stop;
done_testing();
