# Issue 8, attack 7: secrets through `setting`.  primary_conninfo (a setting only
# superusers and pg_read_all_settings may read) holds password=s3cret.  A check owner
# with pg_read_all_settings adds a `setting` check on it; it fails and fires.  The
# on-call role reads slo_status(), slo_result, slo_alert, slo_alert_event and LISTENs
# on the channel: s3cret appears nowhere.  An owner without the privilege gets an
# `error`, not the value.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('kinds_setting_secret');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
primary_conninfo = 'host=replica.example port=5432 user=rep password=s3cret'
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE ROLE oncall LOGIN;
	GRANT USAGE ON SCHEMA public TO oncall;
	GRANT EXECUTE ON FUNCTION slo_status(), slo_kinds() TO oncall;
	GRANT SELECT ON slo_check, slo_check_state, slo_result, slo_alert, slo_alert_event TO oncall;
	CREATE ROLE check_admin LOGIN;
	GRANT oncall TO check_admin;
	GRANT EXECUTE ON FUNCTION
	    slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
	    slo_run_checks(boolean) TO check_admin;
	CREATE ROLE settings_reader LOGIN IN ROLE check_admin;
	GRANT pg_read_all_settings TO settings_reader;
});

# The owner may read it; the on-call role may not.
like($node->safe_psql('postgres', 'SHOW primary_conninfo', extra_params => [ '-U', 'settings_reader' ]),
	qr/s3cret/, 'the owner can read the setting');
my ($rc, $out, $err) = $node->psql('postgres', 'SHOW primary_conninfo',
	extra_params => [ '-U', 'oncall' ]);
like($err, qr/permission denied|must be superuser/, 'the on-call role cannot SHOW it');

$node->safe_psql(
	'postgres', q{
	SELECT slo_add_check('replica_source', 'setting',
	    '{"name": "primary_conninfo", "allowed": ["host=replica.example port=5432"]}',
	    severity => 'P1');
}, extra_params => [ '-U', 'settings_reader' ]);
$node->safe_psql(
	'postgres', q{
	SELECT slo_add_check('replica_source_unprivileged', 'setting',
	    '{"name": "primary_conninfo", "allowed": ["host=replica.example port=5432"]}');
}, extra_params => [ '-U', 'check_admin' ]);

# Run the checks from a session that LISTENs, so the NOTIFY payloads are seen.
my $stdout;
$node->psql(
	'postgres', q{
	LISTEN slo_guard;
	SELECT check_name, status, summary, detail FROM slo_run_checks(false) ORDER BY 1;
},
	stdout => \$stdout,
	extra_params => [ '-U', 'check_admin' ]);
like($stdout, qr/^replica_source\|fail\|primary_conninfo is set to none of the 1 allowed values \(the value is hidden/m,
	'the owner allowed to read it gets a fail, with the value hidden');
like($stdout, qr/^replica_source_unprivileged\|error\|.*pg_read_all_settings/m,
	'an owner without pg_read_all_settings gets an error, not the value');
like($stdout, qr/Asynchronous notification "slo_guard" with payload "\{"event":"firing"/,
	'the firing NOTIFY was sent');
unlike($stdout, qr/s3cret/, 'no secret in the results or the NOTIFY payloads');

# Everything the on-call role can read.
my $seen = $node->safe_psql(
	'postgres', q{
	SELECT concat_ws(' | ', name, state, status, summary) FROM slo_status();
	SELECT concat_ws(' | ', check_name, status, summary, detail) FROM slo_result;
	SELECT a::text FROM slo_alert a;
	SELECT e::text FROM slo_alert_event e;
	SELECT c::text FROM slo_check c;
}, extra_params => [ '-U', 'oncall' ]);
like($seen, qr/replica_source \| firing/, 'the on-call role sees the alert firing');
like($seen, qr/event\W+firing/, 'and the stored event payload');
unlike($seen, qr/s3cret/, 's3cret appears in nothing the on-call role reads');
unlike($seen, qr/password=/, 'no part of the conninfo either');

$node->stop;
done_testing();
