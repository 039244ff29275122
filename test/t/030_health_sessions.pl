# Health kinds against real sessions: connections held open past warn_pct and
# fail_pct on a server with max_connections = 10; transactions kept open past
# max_age (idle in transaction, active, prepared; a client named slo_guard is
# not left out); slow statements in pg_stat_statements.  Results never hold query text.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use JSON::PP;

my $node = PostgreSQL::Test::Cluster->new('health');
$node->init;
$node->append_conf('postgresql.conf', q{
max_connections = 10
superuser_reserved_connections = 3
max_prepared_transactions = 2
shared_preload_libraries = 'pg_stat_statements'
pg_stat_statements.track = all
});
$node->start;
$node->safe_psql('postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE EXTENSION pg_stat_statements;
	SELECT slo_add_check('conn', 'connections', '{"warn_pct": 50, "fail_pct": 80}');
	SELECT slo_add_check('longtx', 'long_transactions', '{"max_age": "1 second"}');
	SELECT slo_add_check('longtx_active', 'long_transactions',
	                     '{"max_age": "1 second", "include_idle": false}');
	SELECT slo_add_check('slow', 'slow_queries', '{"max_mean_ms": 20, "min_calls": 10}');
});

# Run one check (all checks run; this one's result is returned) as a hash.
sub run_check
{
	my ($name) = @_;
	my $row = $node->safe_psql('postgres', qq{
		SELECT json_build_object('status', status, 'value', value, 'summary', summary,
		                         'detail', detail)
		  FROM slo_run_checks(false) WHERE check_name = '$name'});
	return decode_json($row);
}

# Run until the check reports the wanted status (bounded); returns that result.
sub wait_status
{
	my ($name, $status) = @_;
	my $deadline = time() + $PostgreSQL::Test::Utils::timeout_default;
	while (time() < $deadline)
	{
		my $r = run_check($name);
		return $r if $r->{status} eq $status;
		select(undef, undef, undef, 0.2);
	}
	die "check $name never became $status";
}

sub no_query_text
{
	my ($r, $what, $re) = @_;
	unlike($r->{summary} . encode_json($r->{detail} // {}), $re, "$what: no query text in the result");
}

# ---- connections: usable = 10 - 3 reserved = 7; the checking session is one.
my $r = run_check('conn');
is($r->{status}, 'ok', 'connections: ok with only the checking session');
like($r->{summary}, qr/^1 of 7 usable connections are in use \(14\.3%\); warn at 50%\.$/,
	'connections: summary counts usable connections');

my @holders;
sub hold
{
	my $s = $node->background_psql('postgres');
	$s->query_safe("SET application_name = 'holder_app'");
	push @holders, $s;
}
hold() for 1 .. 3;
$r = run_check('conn');
is($r->{status}, 'warn', 'connections: 4 of 7 (57%) is past warn_pct 50');
cmp_ok(abs($r->{value} - 400 / 7), '<', 1e-6, 'connections: value is the percent used');
like($r->{summary}, qr/^4 of 7 usable connections are in use \(57\.1%\), at or above the warn threshold of 50%; application holder_app holds 3 of them\.$/,
	'connections: warn summary names the biggest holder');
is($r->{detail}{by_state}{idle}, 3, 'connections: detail counts idle sessions');
is($r->{detail}{by_state}{active}, 1, 'connections: detail counts the active (checking) session');
is_deeply($r->{detail}{top_applications}[0], { application_name => 'holder_app', sessions => 3 },
	'connections: detail lists the top application');
no_query_text($r, 'connections', qr/application_name =|SET /i);

hold() for 1 .. 2;
$r = run_check('conn');
is($r->{status}, 'fail', 'connections: 6 of 7 (86%) is past fail_pct 80');
like($r->{summary}, qr/^6 of 7 usable connections are in use \(85\.7%\), at or above the fail threshold of 80%/,
	'connections: fail summary');
$_->quit for @holders;
@holders = ();
$node->poll_query_until('postgres',
	"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'client backend'")
  or die 'holders did not go away';
is(run_check('conn')->{status}, 'ok', 'connections: ok again once the sessions are closed');

# ---- long_transactions
# Only slo_guard's own processes are left out, by backend type (its worker is a
# background worker, never a 'client backend'); application_name is the client's to
# choose, so a client calling itself slo_guard that holds a transaction is reported.
my $impostor = $node->background_psql('postgres');
$impostor->query_safe("SET application_name = 'slo_guard'");
my $impostor_pid = $impostor->query_safe('SELECT pg_backend_pid()');
$impostor->query_safe('BEGIN');
$impostor->query_safe('SELECT txid_current()');
$node->poll_query_until('postgres', q{
	SELECT clock_timestamp() - xact_start > interval '1.5 seconds'
	  FROM pg_stat_activity WHERE application_name = 'slo_guard'})
  or die 'session named slo_guard not seen';
$r = run_check('longtx');
is($r->{status}, 'fail', 'long_transactions: a client session named slo_guard is reported');
like($r->{summary}, qr/^Session pid $impostor_pid \(application slo_guard, idle in transaction\)/,
	'long_transactions: the summary names it');
$impostor->query_safe('COMMIT');
$impostor->quit;
is(wait_status('longtx', 'ok')->{status}, 'ok', 'long_transactions: ok once it commits');

# Idle in transaction past max_age.
my $idle = $node->background_psql('postgres');
$idle->query_safe("SET application_name = 'tx_holder'");
my $idle_pid = $idle->query_safe('SELECT pg_backend_pid()');
$idle->query_safe('BEGIN');
$idle->query_safe("SELECT txid_current(), 'secret-row-content'");
$r = wait_status('longtx', 'fail');
like($r->{summary},
	qr/^Session pid $idle_pid \(application tx_holder, idle in transaction\) has had a transaction open for [0-9.]+ s, longer than the 1 s allowed\.$/,
	'long_transactions: summary names pid, application, state and age');
cmp_ok($r->{value}, '>', 1, 'long_transactions: value is the oldest age in seconds');
is($r->{detail}{over}, 1, 'long_transactions: one transaction over the limit');
is($r->{detail}{oldest}[0]{pid}, $idle_pid, 'long_transactions: detail has the pid');
no_query_text($r, 'long_transactions', qr/txid_current|secret-row-content/);
is(run_check('longtx_active')->{status}, 'ok',
	'long_transactions: include_idle false leaves idle-in-transaction sessions out');

# An active statement past max_age counts either way.
my $busy = $node->background_psql('postgres', on_error_stop => 0);
$busy->query_safe("SET application_name = 'busy_app'");
my $busy_pid = $busy->query_safe('SELECT pg_backend_pid()');
$busy->query_until(qr/sleeping/, "\\echo sleeping\nSELECT pg_sleep(600);\n");
$r = wait_status('longtx_active', 'fail');
like($r->{summary}, qr/^Session pid $busy_pid \(application busy_app, active\) has had a transaction open/,
	'long_transactions: include_idle false still sees an active transaction');
$r = run_check('longtx');
like($r->{summary}, qr/; 1 more is over the limit\.$/, 'long_transactions: the others are counted');
is($r->{detail}{over}, 2, 'long_transactions: two transactions over the limit');

$node->safe_psql('postgres', "SELECT pg_cancel_backend($busy_pid)");
$busy->quit;
$idle->query_safe('COMMIT');
$idle->quit;
$r = wait_status('longtx', 'ok');
is($r->{detail}{over}, 0, 'long_transactions: ok once the transactions end');

# A prepared transaction outlives its session.
$node->safe_psql('postgres', q{
	BEGIN;
	CREATE TABLE prepared_t (id int);
	PREPARE TRANSACTION 'slo_test_gid';
});
$r = wait_status('longtx', 'fail');
like($r->{summary}, qr/^Prepared transaction 'slo_test_gid' in database postgres has been open for .*, longer than the 1 s allowed/,
	'long_transactions: an old prepared transaction fails');
$node->safe_psql('postgres', "ROLLBACK PREPARED 'slo_test_gid'");
is(run_check('longtx')->{status}, 'ok', 'long_transactions: ok after ROLLBACK PREPARED');

# ---- slow_queries: SELECT pg_sleep(0.05) 12 times, over max_mean_ms 20 with min_calls 10.
$node->safe_psql('postgres', 'SELECT pg_stat_statements_reset()');
$r = run_check('slow');
is($r->{status}, 'ok', 'slow_queries: ok before anything slow ran');
$node->safe_psql('postgres', "SELECT pg_sleep(0.05);\n" x 9);
$r = run_check('slow');
is($r->{status}, 'ok', 'slow_queries: 9 slow calls are under min_calls 10');
$node->safe_psql('postgres', "SELECT pg_sleep(0.05);\n" x 3);
my $queryid = $node->safe_psql('postgres',
	"SELECT queryid FROM pg_stat_statements WHERE query LIKE 'SELECT pg_sleep(\$1)%'");
$r = run_check('slow');
is($r->{status}, 'fail', 'slow_queries: fails on a statement averaging 50 ms');
like($r->{summary},
	qr/^Statement with queryid $queryid in database postgres averages \d+ ms over 12 calls, above the 20 ms limit\.$/,
	'slow_queries: summary names the queryid, mean and calls');
is($r->{detail}{worst}[0]{queryid}, $queryid, 'slow_queries: detail lists the queryid');
is($r->{detail}{worst}[0]{calls}, 12, 'slow_queries: detail lists the calls');
cmp_ok($r->{value}, '>=', 50, 'slow_queries: value is the worst mean in ms');
no_query_text($r, 'slow_queries', qr/pg_sleep|SELECT/i);

$node->safe_psql('postgres', q{SELECT slo_alter_check('slow', params => '{"max_mean_ms": 1000}')});
$r = run_check('slow');
like($r->{summary}, qr/^No statement with at least 10 calls averages over 1000 ms; the slowest averages \d+ ms\.$/,
	'slow_queries: ok under a higher limit');

$node->safe_psql('postgres', 'DROP EXTENSION pg_stat_statements');
$r = run_check('slow');
is($r->{status}, 'error', 'slow_queries: error without pg_stat_statements');
like($r->{summary}, qr/extension "pg_stat_statements" is not installed in database "postgres"/,
	'slow_queries: the error says what is missing');

$node->stop;
done_testing();
