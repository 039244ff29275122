# Issue 15, faults under the running worker (naptime 100 ms, checks every second,
# one of them a slow 0.8 s query, so a pass is in flight at any moment):
#   - DROP EXTENSION and CREATE EXTENSION three times in a row: the worker
#     survives (same process), and picks up each new install (its new checks run);
#   - ALTER SYSTEM of every slo_guard setting (read from pg_settings, so settings
#     added later are covered too) plus pg_reload_conf() in the middle of a pass:
#     no crash, the worker keeps running, and the new values apply (the new
#     notify channel gets the next alert, the lower check_timeout cuts the slow
#     check, enabled = off stops the runs and on starts them again).
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('fault_ext_settings');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.naptime = 100ms
});
$node->start;

sub worker_pid
{
	return $node->safe_psql('postgres',
		"SELECT coalesce(max(pid), 0) FROM pg_stat_activity WHERE backend_type = 'slo_guard'");
}

sub add_checks
{
	my ($tag) = @_;
	$node->safe_psql('postgres', qq{
SELECT slo_add_check('fast_$tag', 'table_exists', '{"tables": ["pg_class"]}', every => '1 second');
SELECT slo_add_check('slow_$tag', 'sql', '{"query": "SELECT count(*) FROM pg_sleep(0.8)"}', every => '1 second');
});
}

$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
add_checks('a');
ok($node->poll_query_until('postgres', "SELECT count(*) >= 2 FROM slo_result WHERE check_name = 'slow_a'"),
	'the worker runs the checks');
my $pid = worker_pid();
ok($pid > 0, 'the worker runs');

# --- DROP / CREATE EXTENSION under the running worker -------------------------
for my $round (1 .. 3)
{
	usleep(300_000);    # a pass is in flight (the slow check sleeps 0.8 s)
	$node->safe_psql('postgres', 'DROP EXTENSION slo_guard');
	usleep(200_000);
	$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
	add_checks("r$round");
	ok( $node->poll_query_until('postgres',
			"SELECT count(*) >= 1 FROM slo_result WHERE check_name = 'fast_r$round'"),
		"round $round: the new install's checks run");
	is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_check'), '2',
		"round $round: only the new install's checks exist");
}
is(worker_pid(), $pid, 'the same worker process served all installs');

# --- ALTER SYSTEM of every setting, reload in the middle of a pass ------------
my @settings = split /\n/, $node->safe_psql('postgres', q{
SELECT name || '|' || vartype || '|' || setting || '|' || coalesce(unit, '') || '|'
       || coalesce(min_val, '') || '|' || coalesce(max_val, '') || '|' || coalesce(array_to_string(enumvals, ','), '')
       || '|' || context
  FROM pg_settings WHERE name LIKE 'slo\_guard.%' ORDER BY name});
ok(@settings >= 9, scalar(@settings) . ' slo_guard settings');

# A new valid value for each setting, different from the current one where possible.
my %new = (
	'slo_guard.notify_channel' => 'slo_guard_moved',
	'slo_guard.check_timeout' => '400',
	'slo_guard.naptime' => '150',
	'slo_guard.enabled' => 'on',
	'slo_guard.database' => 'postgres',
	'slo_guard.allowed_hosts' => '127.0.0.1/32',
	'slo_guard.max_workers' => '3',);
my @alter;
for my $line (@settings)
{
	my ($name, $type, $cur, $unit, $min, $max, $enums, $context) = split /\|/, $line, -1;
	next if $context eq 'postmaster' || $context eq 'internal';
	my $v = $new{$name};
	if (!defined $v)
	{
		if ($type eq 'bool') { $v = $cur eq 'on' ? 'off' : 'on'; }
		elsif ($type eq 'enum')
		{
			my @e = grep { $_ ne $cur } split /,/, $enums;
			$v = @e ? $e[0] : $cur;
		}
		elsif ($type eq 'integer' || $type eq 'real')
		{
			$v = $cur * 2;
			$v = $max if $max ne '' && $v > $max;
			$v = $min if $min ne '' && $v < $min;
			$v = $cur if $v == 0 && $min ne '' && $min > 0;
		}
		else { $v = $cur; }
	}
	push @alter, [ $name, $v ];
}
my $alter_sql = join '', map { "ALTER SYSTEM SET $_->[0] = '$_->[1]';\n" } @alter;
note "altering:\n$alter_sql";

my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard_moved');
$node->safe_psql('postgres', 'CREATE TABLE users (id int)');
$node->safe_psql('postgres', q{
SELECT slo_add_check('users_table', 'table_exists', '{"tables": ["users"]}', every => '1 second');
SELECT slo_add_check('slow_1s', 'sql', '{"query": "SELECT count(*) FROM pg_sleep(1.5)"}', every => '1 second');
});
ok($node->poll_query_until('postgres', "SELECT count(*) >= 1 FROM slo_result WHERE check_name = 'users_table'"),
	'checks run before the change');

# enabled = off, reloaded mid-pass: runs stop
usleep(400_000);
$node->safe_psql('postgres', "ALTER SYSTEM SET slo_guard.enabled = off; SELECT pg_reload_conf();");
sleep 1;
my $off_at = $node->safe_psql('postgres', 'SELECT max(id) FROM slo_result');
sleep 2;
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE id > $off_at AND check_name <> 'slow_1s'"),
	'0', 'enabled = off: no run starts after the reload');

# every setting at once (enabled back on), reloaded mid-pass
$node->safe_psql('postgres', $alter_sql . "SELECT pg_reload_conf();");
for my $a (@alter)
{
	my $shown = $node->safe_psql('postgres',
		"SELECT setting FROM pg_settings WHERE name = '$a->[0]'");
	is($shown, $a->[1], "$a->[0] is now $a->[1]");
}
ok($node->poll_query_until('postgres', "SELECT count(*) > 0 FROM slo_result WHERE id > $off_at"),
	'enabled again: checks run');
ok( $node->poll_query_until('postgres', q{
SELECT count(*) >= 1 FROM slo_result WHERE check_name = 'slow_1s' AND status = 'error' AND summary ILIKE '%time%'}),
	'the new check_timeout (400 ms) cuts the 1.5 s check');

# the new channel gets the next alert
$node->safe_psql('postgres', 'DROP TABLE users');
my $seen = '';
my $deadline = time() + 20;
while (time() < $deadline && $seen !~ /slo_guard_moved/)
{
	$seen .= $listener->query_safe('SELECT 1');
	usleep(100_000);
}
like($seen, qr/Asynchronous notification "slo_guard_moved" with payload "\{.*firing/,
	'the firing NOTIFY goes to the new notify_channel');
$listener->quit;

is(worker_pid(), $pid, 'the same worker process survived all of it');
ok(!$node->log_contains(qr/terminated by signal|TRAP:|PANIC/), 'no crash in the log');
$node->stop;
done_testing();
