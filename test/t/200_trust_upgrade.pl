# The upgrade path (issue 10): 1.0 -> 1.1 -> 1.2 and 1.1 -> 1.2. A database
# created at 1.0 under the 1.2 library: the worker logs once that the schema is old and waits (no error loop),
# and every C function refuses with SQLSTATE 55000 and the ALTER EXTENSION hint.
# 1.0 data (written directly, as 1.0 would have) survives ALTER EXTENSION
# slo_guard UPDATE, the worker then serves the database, and the upgraded catalog
# equals a fresh CREATE EXTENSION slo_guard; so does a database created at 1.1
# (the released 1.1 script) and updated (SloCatalog.pm: functions, tables,
# columns, indexes, constraints, triggers, comments, grants, extension config).
use strict;
use warnings;
use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep);
use SloCatalog;

my $node = PostgreSQL::Test::Cluster->new('upgrade');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'old'
slo_guard.naptime = '200ms'
});
$node->start;

my $offset = -s $node->logfile;
$node->safe_psql('postgres', 'CREATE DATABASE old');
$node->safe_psql('postgres', 'CREATE DATABASE fresh');
$node->safe_psql('postgres', 'CREATE DATABASE mid');
$node->safe_psql('postgres', 'CREATE ROLE alice');
$node->safe_psql('postgres', 'CREATE ROLE gone');
my $gone_oid = $node->safe_psql('postgres', "SELECT 'gone'::regrole::oid");
$node->safe_psql('postgres', 'DROP ROLE gone');

$node->safe_psql('old', "CREATE EXTENSION slo_guard VERSION '1.0'");
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'slo_guard'"),
	'1.0', 'a 1.0 schema under the 1.2 library');

# --- the worker: logs once, then waits -----------------------------------------
my $waiting = qr/slo_guard worker for database "old" waiting: slo_guard's schema is version 1\.0 but the library is 1\.2/;
ok($node->wait_for_log($waiting, $offset), 'the worker says the schema is 1.0 and the library 1.2');
usleep(2_000_000);    # ten naptimes
my $log = slurp_file($node->logfile, $offset);
my @said = ($log =~ /$waiting/g);
is(scalar(@said), 1, 'said once, not every naptime');
like($log, qr/$waiting[^\n]*\n[^\n]*HINT:  Run ALTER EXTENSION slo_guard UPDATE\./,
	'with the hint');
unlike($log, qr/pass failed|ERROR:/, 'no failing passes, no errors while it waits');

# --- every C function refuses, with the hint ------------------------------------
for my $call (
	"SELECT * FROM slo_run_checks()",
	"SELECT slo_add_check('x', 'table_exists', '{\"tables\": [\"t\"]}')",
	"SELECT slo_alter_check('x', severity => 'P1')",
	"SELECT slo_drop_check('x', if_exists => true)")
{
	my ($ret, $out, $err) = $node->psql('old', "\\set VERBOSITY verbose\n$call");
	like(
		$err,
		qr/ERROR:  55000: slo_guard's schema is version 1\.0 but the library is 1\.2.*HINT:  Run ALTER EXTENSION slo_guard UPDATE\./s,
		"1.0 schema: $call refuses with 55000 and the hint");
}

# --- 1.0 data, written as 1.0 wrote it ------------------------------------------
$node->safe_psql('old', qq{
CREATE TABLE users (id int);
INSERT INTO slo_check (name, kind, params, severity, every, owner, search_path)
VALUES ('users_present', 'table_exists', '{"tables": ["users"]}', 'P0', '1 second', 'alice'::regrole, 'public'),
       ('orphan', 'table_exists', '{"tables": ["users"]}', 'P2', '1 second', $gone_oid, 'public');
INSERT INTO slo_check_state (check_id, status, summary, since, last_run, next_run, fail_streak, alert_id)
SELECT id, 'fail', 'Table users is missing.', now() - interval '1 hour', now() - interval '1 hour', now(), 1, NULL
  FROM slo_check;
INSERT INTO slo_result (check_id, check_name, at, status, value, summary)
SELECT id, name, now() - interval '1 hour', 'fail', 1, 'Table users is missing.' FROM slo_check;
INSERT INTO slo_alert (check_id, check_name, severity, state, detected_at, fired_at, resolved_at, status, value, summary)
SELECT id, name, severity, 'resolved', now() - interval '2 hours', now() - interval '2 hours', now() - interval '1 hour', 'ok', 0, 'ok'
  FROM slo_check WHERE name = 'users_present';
INSERT INTO slo_alert_event (alert_id, event, at, status, summary, notified, payload)
SELECT id, 'firing', fired_at, 'fail', 'Table users is missing.', true, '{"event": "firing"}' FROM slo_alert;
});
my $data_sql = q{
SELECT (SELECT string_agg(format('%s %s %s %s %s', id, name, kind, params, severity), ';' ORDER BY id) FROM slo_check),
       (SELECT string_agg(format('%s %s %s', check_id, status, summary), ';' ORDER BY check_id) FROM slo_check_state),
       (SELECT string_agg(format('%s %s %s', id, check_name, status), ';' ORDER BY id) FROM slo_result),
       (SELECT string_agg(format('%s %s %s %s', id, check_name, state, resolved_at IS NOT NULL), ';' ORDER BY id) FROM slo_alert),
       (SELECT string_agg(format('%s %s %s', id, alert_id, event), ';' ORDER BY id) FROM slo_alert_event)};
my $before = $node->safe_psql('old', $data_sql);

# --- the upgrade ----------------------------------------------------------------
my $after = $node->safe_psql('old', qq{
BEGIN;
ALTER EXTENSION slo_guard UPDATE;
$data_sql;
SELECT string_agg(format('%s %s %s', name, owner, owner_name), ';' ORDER BY id) FROM slo_check;
COMMIT;});
my @after = split /\n/, $after;
is($after[0], $before, 'checks, state, results, alerts and events survive the upgrade unchanged');
like($after[1], qr/^users_present alice alice;orphan $gone_oid dropped role with OID $gone_oid /,
	'owner_name filled from pg_roles; a role dropped before the upgrade gets a name no role has');
is($node->safe_psql('old', "SELECT extversion FROM pg_extension WHERE extname = 'slo_guard'"),
	'1.2', 'now 1.2 (1.0 -> 1.1 -> 1.2)');

# --- the worker serves it now (it re-checks every naptime) -------------------------
ok( $node->poll_query_until(
		'old', "SELECT status = 'ok' FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id WHERE c.name = 'users_present'"),
	'the worker runs the upgraded checks (as alice)');
ok( $node->poll_query_until(
		'old', "SELECT summary LIKE '%the role that added this check (\"dropped role with OID $gone_oid%' FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id WHERE c.name = 'orphan'"),
	'the check of the role dropped before the upgrade records an error, it does not run');
is($node->safe_psql('old', "SELECT slo_add_check('new', 'table_exists', '{\"tables\": [\"users\"]}') > 2"),
	't', 'slo_add_check works after the upgrade; ids go on');
is($node->safe_psql('old', "SELECT count(*) FROM slo_run_checks(false)"), '3', 'slo_run_checks works after the upgrade');

# --- 1.1 -> 1.2: a database created with the released 1.1 script --------------------
$node->safe_psql('mid', "CREATE EXTENSION slo_guard VERSION '1.1'");
$node->safe_psql('mid', "INSERT INTO slo_check (name, kind, params, severity, every, owner, search_path)
  VALUES ('mid_users', 'table_exists', '{\"tables\": [\"users\"]}', 'P1', '1 second', 'alice'::regrole, 'public')");
my $mid_before = $node->safe_psql('mid', "SELECT string_agg(format('%s %s %s %s', id, name, owner, owner_name), ';') FROM slo_check");
$node->safe_psql('mid', 'ALTER EXTENSION slo_guard UPDATE');
is($node->safe_psql('mid', "SELECT extversion FROM pg_extension WHERE extname = 'slo_guard'"),
	'1.2', '1.1 -> 1.2');
is($node->safe_psql('mid', "SELECT string_agg(format('%s %s %s %s', id, name, owner, owner_name), ';') FROM slo_check"),
	$mid_before, 'a 1.1 check survives the 1.1 -> 1.2 update');

# --- the catalog of each upgraded database equals a fresh install -------------------
$node->safe_psql('fresh', 'CREATE EXTENSION slo_guard');
my $fresh = SloCatalog::snapshot($node, 'fresh');
my %in_fresh = map { $_ => 1 } split /\n/, $fresh;
for my $db ('old', 'mid')
{
	my $up = SloCatalog::snapshot($node, $db);
	my %in_up = map { $_ => 1 } split /\n/, $up;
	my @only_up    = grep { !$in_fresh{$_} } sort keys %in_up;
	my @only_fresh = grep { !$in_up{$_} } sort keys %in_fresh;
	is(join("\n", @only_up),    '', "$db: nothing in the upgraded catalog that a fresh install lacks");
	is(join("\n", @only_fresh), '', "$db: nothing in a fresh install that the upgraded catalog lacks");
}
# the snapshot really covers what it claims
cmp_ok(scalar(keys %in_fresh), '>', 200, 'the snapshot has ' . scalar(keys %in_fresh) . ' lines');
for my $re (
	qr/^function slo_alter_check\(name text, kind text, params jsonb, severity text, every interval, fail_after integer, labels jsonb, enabled boolean\) .*secdef=f/m,
	qr/^column slo_check\.owner type=regrole notnull=t/m,
	qr/^column slo_check\.owner_name type=text notnull=t/m,
	qr/^index CREATE INDEX slo_alert_resolved_at_idx ON public\.slo_alert USING btree \(resolved_at\) WHERE \(state = 'resolved'::text\)/m,
	qr/^constraint slo_alert slo_alert_check_id_fkey FOREIGN KEY \(check_id\) REFERENCES slo_check\(id\) ON DELETE CASCADE/m,
	qr/^comment column payload of table slo_alert_event: the NOTIFY payload/m,
	qr/^acl function slo_status\(\) \{postgres=X\/postgres\}/m,
	qr/^config slo_check_id_seq condition=/m)
{
	like($fresh, $re, "snapshot line $re");
}
unlike($fresh, qr/^config slo_table_size/m, 'slo_table_size is not dumped');

# every column a user reads has a comment
is( $node->safe_psql('fresh', q{
SELECT string_agg(c.relname || '.' || a.attname, ', ')
  FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
 WHERE c.relnamespace = 'public'::regnamespace AND c.relkind = 'r' AND c.relname LIKE 'slo\_%'
   AND col_description(c.oid, a.attnum) IS NULL}),
	'', 'COMMENT ON COLUMN for every column of every slo_ table');

$node->stop;
done_testing();
