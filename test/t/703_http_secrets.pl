# Issue 11: an http check's header values are secrets.  They reach the
# endpoint (explicit runs and the worker), but slo_check.params shows
# ********; slo_check_secret shows them to the check's owner only (row-level
# security), so an on-call role granted SELECT on every slo_ table never sees
# them, nor do results, alert events or NOTIFY payloads, nor error messages,
# nor the server log (with the role's statement logging off, as the README
# says).  Params copied back from slo_check (********) keep the stored value.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;

my $srv = SloHttpd->start();
my $u = $srv->url('');
my $TOKEN = 'S3CRET-TOKEN-4711';

my $node = PostgreSQL::Test::Cluster->new('http_secrets');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.enabled = off
slo_guard.naptime = 100ms
slo_guard.allowed_hosts = '127.0.0.1'
log_min_messages = debug1
});
$node->start;
$node->safe_psql('postgres', q{
CREATE EXTENSION slo_guard;
CREATE ROLE check_admin LOGIN;
CREATE ROLE oncall LOGIN;
-- the README's advice for a role that passes secrets
ALTER ROLE check_admin SET log_statement = 'none';
ALTER ROLE check_admin SET log_min_error_statement = 'panic';
GRANT EXECUTE ON ALL FUNCTIONS IN SCHEMA public TO check_admin;
GRANT SELECT ON slo_check, slo_check_secret TO check_admin;
GRANT SELECT ON ALL TABLES IN SCHEMA public TO oncall;
GRANT EXECUTE ON FUNCTION slo_status() TO oncall;
});

sub as
{
	my ($role, $sql) = @_;
	return $node->safe_psql('postgres', "SET ROLE $role; $sql") if $role eq 'oncall_setrole';
	my ($rc, $out, $err) = $node->psql('postgres', $sql, extra_params => ['-U', $role]);
	return wantarray ? ($rc, $out, $err) : $out;
}

as('check_admin', qq{SELECT slo_add_check('sec', 'http',
	'{"url": "$u/hook/sec", "headers": {"Authorization": "Bearer $TOKEN", "X-Team": "ops"}}', every => '1 second')});
my $res = as('check_admin', q{SELECT status || ' ' || summary FROM slo_run_checks(false)});
like($res, qr{^ok GET http://127\.0\.0\.1:\d+: HTTP 200}, 'the probe with secret headers runs');
my @req = $srv->requests('sec');
is($req[0]{headers}{Authorization}, "Bearer $TOKEN", 'the endpoint received the secret header');
is($req[0]{headers}{'X-Team'}, 'ops', 'and the other header');
is($node->safe_psql('postgres', q{SELECT params->'headers' FROM slo_check WHERE name = 'sec'}),
	'{"X-Team": "********", "Authorization": "********"}', 'slo_check.params shows ******** for header values');
like(as('check_admin', q{SELECT headers FROM slo_check_secret}), qr/\Q$TOKEN\E/, 'the owner reads its secret');
is(as('oncall', q{SELECT count(*) FROM slo_check_secret}), '0', 'an on-call role granted SELECT sees no secret row');

# a failing run: results, an alert and its events
$srv->set_script('sec', '500');
as('check_admin', q{SELECT count(*) FROM slo_run_checks(false)});
is($node->safe_psql('postgres', q{SELECT state FROM slo_alert WHERE check_name = 'sec'}), 'firing', 'the alert fires');

# copying params back from slo_check keeps the stored secret
as('check_admin', qq{SELECT slo_alter_check('sec', params => (SELECT jsonb_set(params, '{url}', '"$u/hook/sec2"') FROM slo_check WHERE name = 'sec'))});
as('check_admin', q{SELECT count(*) FROM slo_run_checks(false)});
@req = $srv->requests('sec2');
is($req[0]{headers}{Authorization}, "Bearer $TOKEN", 'params copied from slo_check (********) keep the stored value');
# a new value replaces it
as('check_admin', qq{SELECT slo_alter_check('sec', params => '{"url": "$u/hook/sec3", "headers": {"Authorization": "Bearer $TOKEN-v2"}}')});
as('check_admin', q{SELECT count(*) FROM slo_run_checks(false)});
@req = $srv->requests('sec3');
is($req[0]{headers}{Authorization}, "Bearer $TOKEN-v2", 'a new value replaces the stored one');
is($req[0]{headers}{'X-Team'}, undef, 'a header left out is no longer sent');

# errors never show header values
my ($rc, $out, $err) = as('check_admin', qq{SELECT slo_add_check('bad', 'http',
	'{"url": "http://evil.example.com/", "headers": {"Authorization": "Bearer $TOKEN"}}')});
like($err, qr/host "evil\.example\.com" is not allowed/, 'a refused url is an error');
unlike($err, qr/\Q$TOKEN\E/, 'that does not show the header values');
($rc, $out, $err) = as('check_admin', qq{SELECT slo_add_check('bad', 'http', '{"headers": {"Authorization": "Bearer $TOKEN"}}')});
like($err, qr/requires parameter "url"/, 'a missing url is an error');
unlike($err, qr/\Q$TOKEN\E/, 'that does not show the params given');
($rc, $out, $err) = as('check_admin', qq{SELECT slo_add_check('bad', 'http', '{"url": "$u/x", "headers": {"Authorization": ["Bearer $TOKEN"]}}')});
like($err, qr/parameter "headers"/, 'a header value that is not a string is an error');
unlike($err, qr/\Q$TOKEN\E/, 'that does not show it');
($rc, $out, $err) = as('check_admin', qq{SELECT slo_add_check('bad', 'http', '{"url": "$u/x", "headers": {"Authorization": "Bearer $TOKEN\\nX-Evil: 1"}}')});
like($err, qr/must not contain line breaks/, 'a header value with a line break is refused');
unlike($err, qr/\Q$TOKEN\E/, 'without showing it');

# the worker reads the secret too (as the extension owner)
$srv->set_script('sec3', '200');
$node->safe_psql('postgres', q{ALTER SYSTEM SET slo_guard.enabled = on});
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT count(*) > 0 FROM slo_alert WHERE check_name = 'sec' AND state = 'resolved'}),
	'the worker runs the probe: the alert resolves');
@req = $srv->requests('sec3');
is($req[-1]{headers}{Authorization}, "Bearer $TOKEN-v2", 'the worker sent the secret header');

# nothing an on-call role can read holds a secret
my @tables = split /\n/, $node->safe_psql('postgres', q{
	SELECT c.relname FROM pg_class c WHERE c.relnamespace = 'public'::regnamespace
	   AND c.relname LIKE 'slo\_%' AND c.relkind IN ('r', 'v', 'p') ORDER BY 1});
cmp_ok(scalar(@tables), '>=', 6, 'slo_ tables found: ' . join(',', @tables));
my $leaks = 0;
for my $t (@tables)
{
	my $n = as('oncall', qq{SELECT count(*) FROM $t x WHERE strpos(x::text, 'S3' || 'CRET') > 0});
	$leaks += $n;
	diag("$t: $n rows with the secret") if $n ne '0';
}
is($leaks, 0, 'no slo_ table row an on-call role can read holds the secret');
is(as('oncall', q{SELECT count(*) FROM slo_status() s WHERE strpos(s::text, 'S3' || 'CRET') > 0}), '0', 'nor slo_status()');
is($node->safe_psql('postgres', q{SELECT count(*) FROM slo_result WHERE check_name = 'sec'}) > 3 ? 1 : 0, 1,
	'several results were written');

$node->stop;
my $log = slurp_file($node->logfile);
unlike($log, qr/S3CRET/, 'the server log never holds the secret');
like($log, qr/slo_add_check\('sec'|slo_run_checks|SELECT/, 'the log has statements (log_statement = all for others)');
$srv->stop;
done_testing();
