# pg_dump / pg_restore round trip (issue 10): into a new database of the same
# cluster and into a second cluster whose roles were made from pg_dumpall
# --roles-only after other roles (so every OID differs). Checks, state, alerts,
# events and results come back unchanged, owners by role name; slo_add_check and
# a pass work afterwards (the identity sequences' positions are dumped: no
# duplicate key); slo_table_size (tied to relation OIDs) is not dumped.
use strict;
use warnings;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('dump_src');
$node->init;
$node->start;

$node->safe_psql('postgres', q{
CREATE ROLE alice;
CREATE ROLE bob;
CREATE DATABASE src;
});
$node->safe_psql('src', q{
CREATE EXTENSION slo_guard;
GRANT USAGE ON SCHEMA public TO alice, bob;
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO alice, bob;
CREATE TABLE users (id int);
INSERT INTO users SELECT generate_series(1, 100);
SET ROLE alice;
SELECT slo_add_check('users_present', 'table_exists', '{"tables": ["users"]}', severity => 'P0');
SELECT slo_add_check('consent_records', 'table_exists', '{"tables": ["consent_records"]}', labels => '{"category": "compliance"}');
SELECT slo_add_check('users_growth', 'table_growth', '{"tables": ["users"], "max_rows": 1000000}');
RESET ROLE;
SET ROLE bob;
SELECT slo_add_check('bobs', 'table_exists', '{"tables": ["users"]}');
RESET ROLE;
SELECT count(*) FROM slo_run_checks(false);          -- consent_records fires
CREATE TABLE consent_records (id int);
SELECT count(*) FROM slo_run_checks(false);          -- and resolves
DROP TABLE consent_records;
SELECT count(*) FROM slo_run_checks(false);          -- fires again: open alert
});

# Everything slo_guard keeps, as text (owners by name).
my $data_sql = q{
SELECT 'check ' || (c.id, c.name, c.kind, c.params, c.severity, c.every, c.fail_after, c.labels, c.enabled,
                    c.owner::text, c.owner_name, c.search_path, c.created_at, c.updated_at)::text
  FROM slo_check c
UNION ALL SELECT 'state ' || s::text FROM slo_check_state s
UNION ALL SELECT 'result ' || r::text FROM slo_result r
UNION ALL SELECT 'alert ' || a::text FROM slo_alert a
UNION ALL SELECT 'event ' || e::text FROM slo_alert_event e
ORDER BY 1};
my $src_data = $node->safe_psql('src', $data_sql);
like($src_data, qr/^check \(1,users_present,.*,alice,alice,/m, 'source: alice owns users_present');
like($src_data, qr/^alert \(\d+,2,consent_records,P2,firing,/m, 'source: an open alert');
like($src_data, qr/^event .*,resolved,/m, 'source: a resolved event');
cmp_ok($node->safe_psql('src', 'SELECT count(*) FROM slo_table_size'), '>', 0,
	'source: table_growth wrote size samples');

my $dump = $node->basedir . '/src.dump';
$node->command_ok([ 'pg_dump', '-Fc', '-d', $node->connstr('src'), '-f', $dump ], 'pg_dump -Fc');

# What a restored database must offer: the same data, and working functions.
sub check_restored
{
	my ($n, $db, $where) = @_;
	is($n->safe_psql($db, $data_sql), $src_data,
		"$where: checks, state, results, alerts and events as in the source");
	is($n->safe_psql($db, 'SELECT count(*) FROM slo_table_size'), '0',
		"$where: no slo_table_size rows (they name relation OIDs)");
	is( $n->safe_psql($db, q{
SELECT string_agg(name || '=' || (owner::oid = (SELECT oid FROM pg_roles WHERE rolname = owner_name))::text, ',' ORDER BY id)
  FROM slo_check}),
		'users_present=true,consent_records=true,users_growth=true,bobs=true',
		"$where: every owner OID is the OID of the role of that name here");
	my $max_id = $n->safe_psql($db, 'SELECT max(id) FROM slo_check');
	cmp_ok( $n->safe_psql($db, q{
SET ROLE alice;
SELECT slo_add_check('after_restore', 'table_exists', '{"tables": ["users"]}')}),
		'>', $max_id, "$where: slo_add_check works (identity sequence position restored)");
	my $n_results = $n->safe_psql($db, 'SELECT count(*) FROM slo_result');
	is( $n->safe_psql($db,
			"SELECT string_agg(check_name || ':' || status, ',' ORDER BY check_name) FROM slo_run_checks(false)"),
		'after_restore:ok,bobs:ok,consent_records:fail,users_growth:ok,users_present:ok',
		"$where: a pass works; checks run as their owners (no error)");
	is($n->safe_psql($db, 'SELECT count(*) FROM slo_result'), $n_results + 5,
		"$where: the pass stored its results (no duplicate key)");
	is( $n->safe_psql($db,
			"SELECT count(*) FROM slo_alert WHERE check_name = 'consent_records' AND state = 'firing'"),
		'1', "$where: the open alert carried on (no second alert)");
	is($n->safe_psql($db, "SELECT slo_drop_check('bobs')"), 't', "$where: slo_drop_check works");
}

# --- into a new database of the same cluster -----------------------------------
$node->safe_psql('postgres', 'CREATE DATABASE dst');
$node->command_ok([ 'pg_restore', '-d', $node->connstr('dst'), $dump ], 'pg_restore into a new database');
check_restored($node, 'dst', 'same cluster');

# --- into a second cluster, roles first -------------------------------------------
my $roles = $node->basedir . '/roles.sql';
$node->command_ok([ 'pg_dumpall', '--roles-only', '-d', $node->connstr('postgres'), '-f', $roles ],
	'pg_dumpall --roles-only');
my $node2 = PostgreSQL::Test::Cluster->new('dump_dst');
$node2->init;
$node2->start;
$node2->safe_psql('postgres', 'CREATE ROLE filler1; CREATE ROLE filler2; CREATE ROLE filler3;');
# "role postgres already exists" is expected; the others are created
$node2->psql('postgres', undef, extra_params => [ '-f', $roles ]);
isnt($node2->safe_psql('postgres', "SELECT 'alice'::regrole::oid"),
	$node->safe_psql('postgres', "SELECT 'alice'::regrole::oid"),
	'alice has another OID in the second cluster');
$node2->safe_psql('postgres', 'CREATE DATABASE dst');
$node2->command_ok([ 'pg_restore', '-d', $node2->connstr('dst'), $dump ],
	'pg_restore into the second cluster');
check_restored($node2, 'dst', 'second cluster');

$node2->stop;
$node->stop;
done_testing();
