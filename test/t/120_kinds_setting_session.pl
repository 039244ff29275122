# Issue 8, attack 6: the caller's session must not decide a `setting` check.
# app.data_region = 'us-east-1' in postgresql.conf; a P1 check allowing canada-central /
# canada-east is firing.  A check-admin role then tries every way a session has to give
# itself another value (SET, set_config, its own ALTER ROLE ... SET, startup options) and
# runs slo_run_checks(false): the result stays `fail`, the alert stays firing, no
# `resolved` event or NOTIFY.  Then the same with the worker on; and the worker does follow
# a real change of the server's value (ALTER SYSTEM + reload), both ways.
use strict;
use warnings;

use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;

my $node = PostgreSQL::Test::Cluster->new('kinds_setting_session');
$node->init;
$node->append_conf(
	'postgresql.conf', q{
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
slo_guard.enabled = off
slo_guard.naptime = 200ms
app.data_region = 'us-east-1'
});
$node->start;

$node->safe_psql(
	'postgres', q{
	CREATE EXTENSION slo_guard;
	CREATE ROLE oncall;
	GRANT USAGE ON SCHEMA public TO oncall;
	GRANT EXECUTE ON FUNCTION slo_status(), slo_kinds() TO oncall;
	GRANT SELECT ON slo_check, slo_check_state, slo_result, slo_alert, slo_alert_event TO oncall;
	CREATE ROLE check_admin LOGIN;
	GRANT oncall TO check_admin;
	GRANT EXECUTE ON FUNCTION
	    slo_add_check(text, text, jsonb, text, interval, integer, jsonb),
	    slo_alter_check(text, text, jsonb, text, interval, integer, jsonb, boolean),
	    slo_drop_check(text, boolean),
	    slo_run_checks(boolean) TO check_admin;
	GRANT pg_monitor TO check_admin;
	SELECT slo_add_check('data_region', 'setting',
	    '{"name": "app.data_region", "allowed": ["canada-central", "canada-east"]}',
	    severity => 'P1', every => '1 second');
	SELECT status FROM slo_run_checks(false);
});

sub state
{
	return $node->safe_psql('postgres',
		"SELECT state || ' ' || status FROM slo_status() WHERE name = 'data_region'");
}

sub resolved_events
{
	return $node->safe_psql('postgres',
		"SELECT count(*) FROM slo_alert_event WHERE event = 'resolved'");
}

is(state(), 'firing fail', 'the check is firing on the server value us-east-1');

# --- worker off: the check admin's own session --------------------------------

my ($stdout, $stderr);
$node->psql(
	'postgres', q{
	LISTEN slo_guard;
	SET app.data_region = 'canada-central';
	SELECT 'run1', status, summary FROM slo_run_checks(false);
	SELECT set_config('app.data_region', 'canada-east', true) IS NOT NULL;
	SELECT 'run2', status FROM slo_run_checks(false);
	BEGIN;
	SET LOCAL app.data_region = 'canada-east';
	SELECT 'run3', status FROM slo_run_checks(false);
	COMMIT;
	SELECT 'shown', current_setting('app.data_region');
},
	stdout => \$stdout,
	stderr => \$stderr,
	extra_params => [ '-U', 'check_admin' ]);
like($stdout, qr/^run1\|fail\|app\.data_region is "us-east-1"; allowed/m,
	'SET in the caller\'s session: still fail, and the summary names the server value');
like($stdout, qr/^run2\|fail$/m, 'set_config: still fail');
like($stdout, qr/^run3\|fail$/m, 'SET LOCAL: still fail');
like($stdout, qr/^shown\|canada-central$/m, 'the caller\'s own setting is left as it set it');
unlike($stdout, qr/Asynchronous notification/, 'no NOTIFY reached the caller');
is($stderr, '', 'no error');

# The caller's own role setting and startup options do not count either (they are
# what this session started with, not what the check's owner would get).
$node->safe_psql('postgres',
	"ALTER ROLE check_admin SET app.data_region = 'canada-central'");
$stdout = $node->safe_psql(
	'postgres', q{
	SELECT current_setting('app.data_region') || ' ' || status FROM slo_run_checks(false);
},
	extra_params => [ '-U', 'check_admin' ]);
is($stdout, 'canada-central fail', 'ALTER ROLE of the caller: still fail');
{
	local $ENV{PGOPTIONS} = '-c app.data_region=canada-east';
	$stdout = $node->safe_psql(
		'postgres', q{
		SELECT current_setting('app.data_region') || ' ' || status FROM slo_run_checks(false);
	},
		extra_params => [ '-U', 'check_admin' ]);
}
is($stdout, 'canada-east fail', 'startup options (PGOPTIONS -c): still fail');
$node->safe_psql('postgres', 'ALTER ROLE check_admin RESET app.data_region');

is(state(), 'firing fail', 'the alert stays firing');
is(resolved_events(), '0', 'no resolved event was stored (nor sent)');
is( $node->safe_psql('postgres', "SELECT count(*) FROM slo_alert WHERE resolved_at IS NULL"),
	'1', 'one open alert');

# The owner's role setting does count: it is what a new session of the owner gets.
my $owner = $node->safe_psql('postgres',
	"SELECT owner::regrole::text FROM slo_check WHERE name = 'data_region'");
$node->safe_psql('postgres',
	"ALTER ROLE \"$owner\" IN DATABASE postgres SET app.data_region = 'canada-east'");
is( $node->safe_psql('postgres',
		"SELECT status FROM slo_run_checks(false)", extra_params => [ '-U', 'check_admin' ]),
	'ok', 'ALTER ROLE owner IN DATABASE ... SET is what the owner gets: ok');
$node->safe_psql('postgres', "ALTER ROLE \"$owner\" IN DATABASE postgres RESET app.data_region");
is( $node->safe_psql('postgres',
		"SELECT status FROM slo_run_checks(false)", extra_params => [ '-U', 'check_admin' ]),
	'fail', 'and fail again once it is reset');
my $resolved_before = resolved_events();

# --- worker on -----------------------------------------------------------------

$node->safe_psql('postgres', "ALTER SYSTEM SET slo_guard.enabled = on; SELECT pg_reload_conf()");
ok( $node->poll_query_until(
		'postgres',
		"SELECT count(*) = 1 FROM pg_stat_activity WHERE backend_type = 'slo_guard'"),
	'worker runs');
my $runs = $node->safe_psql('postgres', 'SELECT count(*) FROM slo_result');
ok( $node->poll_query_until(
		'postgres', "SELECT count(*) > $runs + 2 FROM slo_result"),
	'the worker runs the check');
is(state(), 'firing fail', 'worker: still firing on us-east-1');

# The attack again while the worker runs the same check every second, with a
# listener on the channel.
my $listener = $node->background_psql('postgres');
$listener->query_safe('LISTEN slo_guard');
$stdout = $node->safe_psql(
	'postgres', q{
	SET app.data_region = 'canada-central';
	SELECT string_agg(status, ',') FROM slo_run_checks(false);
	SELECT pg_sleep(1.5);
	SELECT string_agg(status, ',') FROM slo_run_checks(false);
},
	extra_params => [ '-U', 'check_admin' ]);
unlike($stdout, qr/ok/, 'worker on: the caller\'s SET still gives fail');
is(state(), 'firing fail', 'worker on: still firing');
is(resolved_events(), $resolved_before, 'worker on: no resolved event');
my $heard = $listener->query_safe('SELECT 1');
unlike($heard, qr/Asynchronous notification/, 'worker on: no NOTIFY at all reached the listener');

# A real change of the server's value reaches the worker on reload, both ways.
$node->safe_psql('postgres',
	"ALTER SYSTEM SET app.data_region = 'canada-central'; SELECT pg_reload_conf()");
ok( $node->poll_query_until('postgres',
		"SELECT state = 'ok' FROM slo_status() WHERE name = 'data_region'"),
	'ALTER SYSTEM + reload: the worker resolves the alert');
$heard = '';
for (1 .. 50)
{
	$heard .= $listener->query_safe('SELECT 1');
	last if $heard =~ /"event":"resolved"/;
	select(undef, undef, undef, 0.1);
}
like($heard, qr/"event":"resolved","alert_id":\d+,"check":"data_region"/,
	'and the listener hears that resolved NOTIFY (so it would have heard a false one)');
$listener->quit;
$node->safe_psql('postgres',
	"ALTER SYSTEM RESET app.data_region; SELECT pg_reload_conf()");
ok( $node->poll_query_until('postgres',
		"SELECT state = 'firing' FROM slo_status() WHERE name = 'data_region'"),
	'back to us-east-1 after ALTER SYSTEM RESET + reload: firing again');
like( $node->safe_psql('postgres',
		"SELECT summary FROM slo_status() WHERE name = 'data_region'"),
	qr/us-east-1/, 'the summary names the server value');

$node->stop;
done_testing();
