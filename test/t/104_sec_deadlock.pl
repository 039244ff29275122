# Issue 8: a real deadlock inside one check is that check's error, and the
# rest of the pass goes on.  The check waits for a table another session
# holds; that session then waits for a state row the pass holds; the pass's
# deadlock check (it waited first) finds the cycle and aborts the check, and
# the other session gets its rows once the pass commits.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use IPC::Run;

my $node = PostgreSQL::Test::Cluster->new('sec_deadlock');
$node->init;
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
deadlock_timeout = 2s
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
CREATE TABLE contested (id int);
SELECT slo_add_check('first', 'table_exists', '{"tables": ["users"]}');
SELECT slo_add_check('waits', 'sql', '{"query": "SELECT count(*) FROM contested"}');
SELECT slo_add_check('last', 'table_exists', '{"tables": ["users"]}');
});

my $other = $node->background_psql('postgres');
$other->query_safe('BEGIN; LOCK TABLE contested IN ACCESS EXCLUSIVE MODE');

my ($out, $err) = ('', '');
my $pass = IPC::Run::start(
	[ 'psql', '-XAtq', '-d', $node->connstr('postgres'), '-c',
	  "SET application_name = 'the_pass'; SELECT string_agg(check_name || '=' || status || ':' || summary, E'\\n' ORDER BY check_id) FROM slo_run_checks(false)" ],
	'>', \$out, '2>', \$err);
ok( $node->poll_query_until('postgres', q{
	SELECT count(*) = 1 FROM pg_stat_activity
	 WHERE application_name = 'the_pass' AND wait_event_type = 'Lock'}),
	'the pass waits for the contested table');
# now close the cycle: wait for the state rows the pass holds FOR UPDATE
$other->query_until(qr/sent/, "\\echo sent\nSELECT check_id FROM slo_check_state FOR UPDATE;\n");
$pass->finish;

like($out, qr/^waits=error:Check could not run: deadlock detected \(SQLSTATE 40P01\)/m,
	'the deadlock is the check\'s error');
like($out, qr/^first=ok:.*\nwaits=error:.*\nlast=ok:/s, 'the checks before and after it have results');
is($err, '', 'the pass itself did not fail');
is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_result'), '3', 'three results stored');

$other->query_safe('ROLLBACK');
$other->quit;
$node->stop;
done_testing();
