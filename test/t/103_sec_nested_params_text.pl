# Issue 8, attacks 5, 8 (run-loop half) and 9:
#  - slo_run_checks() from inside a check (a view read by a migration check,
#    an sql check) is refused as that check's error; each check runs once;
#  - a slo_check row with bad params (written around slo_add_check) is an
#    error result naming the key, never a crash, with the worker on too;
#  - summaries and NOTIFY payloads are cut on character boundaries: the
#    stored text is valid UTF-8 and a pg_dump of the database restores.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);

my $node = PostgreSQL::Test::Cluster->new('sec_nested');
$node->init(extra => [ '--encoding=UTF8', '--locale=C' ]);
$node->append_conf('postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
slo_guard.naptime = 200ms
app.data_region = 'canada-central'
});
$node->start;

$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE TABLE users (id int);
CREATE FUNCTION nest() RETURNS text LANGUAGE sql AS $$ SELECT count(*)::text FROM slo_run_checks(false) $$;
CREATE VIEW nest_version AS SELECT nest() AS version_num;
SELECT slo_add_check('nested_migration', 'migration', '{"table": "nest_version"}');
SELECT slo_add_check('nested_sql', 'sql', '{"query": "SELECT count(*) FROM slo_run_checks(false)"}');
SELECT slo_add_check('plain', 'table_exists', '{"tables": ["users"]}');
});

# --- attack 5: no nested passes -----------------------------------------------

my $res = $node->safe_psql('postgres', q{
	SELECT string_agg(check_name || '=' || status || ':' || summary, E'\n' ORDER BY check_id)
	  FROM slo_run_checks(false)});
like($res, qr/^nested_migration=error:Check could not run: slo_run_checks\(\) cannot run inside check "nested_migration"/m,
	'a migration check reading a view that calls slo_run_checks() is refused');
like($res, qr/^nested_sql=error:Check could not run: slo_run_checks\(\) cannot run inside check "nested_sql"/m,
	'an sql check calling slo_run_checks() is refused');
like($res, qr/^plain=ok:/m, 'the pass finished');
is($node->safe_psql('postgres',
	'SELECT count(*) || \'/\' || count(DISTINCT check_id) FROM slo_result'), '3/3',
	'each check ran exactly once');

# a call outside any pass still works afterwards
is($node->safe_psql('postgres', 'SELECT count(*) FROM slo_run_checks(false)'), '3',
	'slo_run_checks() works again after the refused nested calls');

# --- attack 9: text cut on character boundaries -------------------------------

# "Check could not run: " is 21 bytes; the stored summary is cut to 997 bytes
# + "...": 976 bytes of euro signs (3 bytes each) end in the middle of one.
# With labels too large for NOTIFY, the payload's summary is cut to 497 bytes:
# 476 bytes of euro signs, again in the middle of one.
$node->safe_psql('postgres', q{
UPDATE slo_check SET enabled = false;
CREATE FUNCTION euro() RETURNS int LANGUAGE plpgsql AS $$
BEGIN
  -- not RAISE's own SQLSTATE (P0001), whose message the sql kind does not record
  RAISE EXCEPTION '%', repeat('€', 600) USING ERRCODE = 'undefined_object';
END $$;
SELECT slo_add_check('euro', 'sql', '{"query": "SELECT euro()"}',
                     labels => (SELECT jsonb_object_agg('label' || i, repeat('x', 400))
                                  FROM generate_series(1, 25) i));
});
$res = $node->safe_psql('postgres', q{
	SELECT status || ':' || octet_length(summary) FROM slo_run_checks(false)});
is($res, 'error:' . (21 + 3 * 325 + 3), 'the summary is cut before the euro sign that crosses 1000 bytes');

is( $node->safe_psql('postgres', q{
	SELECT bool_and(convert_from(convert_to(summary, 'UTF8'), 'UTF8') = summary
	                AND summary IS NFC NORMALIZED AND summary LIKE '%€€€...')
	  FROM (SELECT summary FROM slo_result WHERE check_name = 'euro'
	        UNION ALL SELECT summary FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id
	                   WHERE c.name = 'euro'
	        UNION ALL SELECT summary FROM slo_alert WHERE check_name = 'euro') s}),
	't', 'result, state and alert summaries are valid UTF-8 ending in whole euro signs');
is( $node->safe_psql('postgres', q{
	SELECT (payload->>'summary') LIKE '%€€€...'
	       AND octet_length(payload->>'summary') = 21 + 3 * 158 + 3
	       AND payload->'labels' = '{"_truncated": true}'
	       AND (payload->>'summary') IS NFC NORMALIZED
	  FROM slo_alert_event e JOIN slo_alert a ON a.id = e.alert_id
	 WHERE a.check_name = 'euro' AND e.event = 'firing'}),
	't', 'the NOTIFY payload\'s summary is cut on a character boundary too');

# pg_dump of the database restores into a new one
my $dump = $node->basedir . '/sec_nested.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-f', $dump, '-d', $node->connstr('postgres') ],
	'pg_dump of the database');
$node->safe_psql('postgres', 'CREATE DATABASE restored');
$node->command_ok([ 'pg_restore', '--exit-on-error', '-d', $node->connstr('restored'), $dump ],
	'pg_restore into a new database');
is( $node->safe_psql('restored', q{
	SELECT count(*) FROM slo_result WHERE check_name = 'euro' AND summary LIKE '%€€€...'}),
	'1', 'the cut summary is in the restored database');

# --- params re-validated before a runner runs ---------------------------------

$node->safe_psql('postgres', q{
UPDATE slo_check SET enabled = false;
SELECT slo_add_check('p_setting', 'setting', '{"name": "app.data_region", "allowed": ["canada-central"]}', every => '1 second');
SELECT slo_add_check('p_columns', 'columns_exist', '{"table": "users", "columns": ["id"]}', every => '1 second');
SELECT slo_add_check('p_window', 'window', '{"of": "plain", "window": "5 minutes"}', every => '1 second');
SELECT slo_add_check('p_growth', 'table_growth', '{"tables": ["users"], "max_rows": 1000}', every => '1 second');
SELECT slo_add_check('p_migration', 'migration', '{"table": "alembic_version"}', every => '1 second');
SELECT slo_add_check('p_typed', 'setting', '{"name": "app.data_region", "allowed": ["canada-central"]}', every => '1 second');
SELECT slo_add_check('p_canary', 'table_exists', '{"tables": ["users"]}', every => '1 second');
-- as the table owner would, around slo_add_check (an edited dump, a direct write)
UPDATE slo_check SET params = '{}' WHERE name IN ('p_setting', 'p_columns', 'p_window', 'p_growth', 'p_migration');
UPDATE slo_check SET params = '{"name": 5, "allowed": "canada-central"}' WHERE name = 'p_typed';
});
my $start_time = $node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()');
$res = $node->safe_psql('postgres', q{
	SELECT string_agg(check_name || '=' || status || ':' || summary, E'\n' ORDER BY check_id)
	  FROM slo_run_checks(false)});
my %key = (p_setting => 'name', p_columns => 'table', p_window => 'of', p_growth => 'tables',
	p_migration => 'table');
for my $check (sort keys %key)
{
	like($res, qr/^$check=error:Check could not run: check kind "[a-z_]+" requires parameter "$key{$check}" \(SQLSTATE 22023\)/m,
		"$check with params {} is an error naming the missing key \"$key{$check}\"");
}
like($res, qr/^p_typed=error:Check could not run: .*"name".*\(SQLSTATE 22023\)/m,
	'a wrongly typed param is an error naming the key');
like($res, qr/^p_canary=ok:/m, 'the other checks of the pass ran');

# the worker runs them too, without crashing anything
$node->append_conf('postgresql.conf', "slo_guard.enabled = on\n");
$node->reload;
my $deadline = time() + 20;
my $n = 0;
while (time() < $deadline)
{
	$n = $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_result WHERE check_name = 'p_setting' AND status = 'error'");
	last if $n >= 4;
	usleep(200_000);
}
cmp_ok($n, '>=', 4, 'the worker records the bad rows as errors, pass after pass');
is($node->safe_psql('postgres', 'SELECT pg_postmaster_start_time()'), $start_time,
	'no crash-restart of the server');
ok(!$node->log_contains(qr/terminated by signal|server process .* was terminated/),
	'no backend was terminated by a signal');

$node->stop;
done_testing();
