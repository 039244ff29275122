# Altering or dropping checks never deadlocks with a pass (issue 8, item 10).
# A pass locks the state rows of its checks (FOR UPDATE SKIP LOCKED) and, when
# it opens an alert, takes FOR KEY SHARE on the check row (slo_alert's foreign
# key). slo_alter_check / slo_drop_check lock in the same order: state row first,
# then check row. First one pass (held open by a slow check) with an alter, a
# disable and a drop inside it: they wait for the pass, nothing deadlocks (the
# old order deadlocked here every time). Then passes over 500 checks that fail
# and recover in turn (so every other pass opens 500 alerts) race two pgbench
# clients altering them and one dropping and re-adding its own failing checks:
# no deadlock, no error, and every result each pass returned is stored.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('lock_order');
$node->init;
$node->append_conf('postgresql.conf', "deadlock_timeout = '100ms'\n");
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
SELECT count(slo_add_check('c' || i, 'table_exists', '{"tables": ["flip"]}', every => '1 second'))
  FROM generate_series(1, 500) i;
});

# --- one pass, one alter and one drop inside it (deterministic) ------------------
# A slow check runs first, so the pass holds its state-row locks for a second
# before it opens the 500 alerts; meanwhile another session alters one of the
# checks and drops another. In the old order (check row, then state row) the
# alter held the check row the pass's alert insert needs: a deadlock.
$node->safe_psql('postgres', q{
SELECT slo_add_check('slow', 'sql', '{"query": "SELECT 1 FROM pg_sleep(1.5)"}');
UPDATE slo_check_state SET next_run = '-infinity'
 WHERE check_id = (SELECT id FROM slo_check WHERE name = 'slow');
});
my ($p_out, $p_err) = ('', '');
my $p = IPC::Run::start(
	[
		'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
		"SELECT count(*) FILTER (WHERE status = 'fail') FROM slo_run_checks(false)"
	],
	'>', \$p_out, '2>', \$p_err);
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) > 0 FROM pg_stat_activity WHERE query LIKE '%slo_run_checks%' AND wait_event = 'PgSleep'"),
	'the pass is running its slow check');
my ($a_ret, $a_out, $a_err) = $node->psql('postgres', q{
SELECT slo_alter_check('c7', every => '2 seconds', enabled => false);
SELECT slo_drop_check('c8');
SELECT slo_alter_check('c9', severity => 'P0');});
$p->finish;
chomp $p_out;
is($a_ret, 0, 'the alter and the drop succeed (they waited for the pass)') or diag $a_err;
is($p_err, '', 'the pass had no error (no deadlock)');
is($p_out, '500', 'the pass ran and stored the failing checks');
is( $node->safe_psql('postgres', q{
SELECT (SELECT count(*) FROM slo_alert WHERE state = 'firing')
    || ' ' || (SELECT string_agg(check_name || ':' || state || ':' || summary, ',') FROM slo_alert WHERE check_name = 'c7')
    || ' ' || (SELECT count(*) FROM slo_check WHERE name = 'c8')
    || ' ' || (SELECT severity FROM slo_check WHERE name = 'c9')}),
	'498 c7:resolved:check disabled by postgres 0 P0',
	'after the pass: the disabled check\'s alert resolved, the dropped check gone, the severity changed');
ok(!$node->log_contains(qr/deadlock detected/), 'no deadlock in the server log');
$node->safe_psql('postgres', q{
SELECT slo_drop_check('slow');
SELECT slo_alter_check('c7', enabled => true);
SELECT slo_add_check('c8', 'table_exists', '{"tables": ["flip"]}', every => '1 second');});

# --- many passes racing pgbench ---------------------------------------------------
my $alter = $node->basedir . '/alter.sql';
append_to_file($alter, q{\set i random(1, 500)
SELECT slo_alter_check('c' || :i, every => (1 + :i % 3) * interval '1 second', severity => 'P1');
});
my $drop = $node->basedir . '/drop.sql';
append_to_file($drop, q{\set i random(1, 5)
SELECT slo_drop_check('x' || :client_id || '_' || :i, if_exists => true);
SELECT slo_add_check('x' || :client_id || '_' || :i, 'table_exists', '{"tables": ["flip"]}', every => '1 second');
});

my ($out, $err) = ('', '');
my $bench = IPC::Run::start(
	[
		'pgbench', '-n', '-T', '8', '-c', '3', '-j', '1',
		'-f', "$alter\@2", '-f', "$drop\@1", '-d', $node->connstr('postgres')
	],
	'>', \$out, '2>', \$err);

# Passes, as pg_cron or the worker would run them, while pgbench alters.
my $pass = $node->background_psql('postgres');
my ($passes, $returned, $deadline) = (0, 0, time() + 7);
while (time() < $deadline)
{
	# fail (alerts open) and recover (alerts resolve) in turn
	$node->safe_psql('postgres',
		$passes % 2 ? 'CREATE TABLE flip (id int)' : 'DROP TABLE IF EXISTS flip');
	$returned += $pass->query_safe(
		"SELECT count(*) FROM slo_run_checks(false) WHERE check_name LIKE 'c%'");
	$passes++;
}
$pass->quit;
my $bench_ok = $bench->finish;

ok($bench_ok, 'pgbench (alter, drop and re-add) finished without error')
  or diag "pgbench stdout: $out\nstderr: $err";
unlike($err, qr/deadlock|ERROR/, 'pgbench saw no deadlock and no error');
like($out, qr/number of transactions actually processed: [1-9]/, 'pgbench did work');
cmp_ok($passes, '>=', 3, "$passes passes ran while pgbench altered the checks");
ok(!$node->log_contains(qr/deadlock detected/), 'still no deadlock in the server log');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_result WHERE check_name LIKE 'c%'") - 499,
	$returned, "every result the passes returned ($returned) is stored");
cmp_ok($node->safe_psql('postgres', "SELECT count(*) FROM slo_alert WHERE check_name LIKE 'c%'"),
	'>=', 500, 'the passes opened alerts (the foreign key lock was taken)');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_check WHERE name LIKE 'c%' AND severity = 'P1'") > 0
	? 'altered' : 'not altered', 'altered', 'the alters took effect');

$node->stop;
done_testing();
