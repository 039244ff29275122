# Issue 11: the http kind, run explicitly (slo_run_checks in a session, worker
# off): status, latency and value against a local server's fast, slow, 500,
# 429, 400, reset, hang, redirect and JSON endpoints; value_path and assert;
# allowed_hosts at add (22023 naming the host) and at send; probes of one
# call are in flight together.
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use SloHttpd;
use Test::More;
use Time::HiRes qw(time);

my $srv = SloHttpd->start();
my $port = $srv->port;

my $node = PostgreSQL::Test::Cluster->new('http_probes');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'slo_guard'\nslo_guard.enabled = off\n"
	. "slo_guard.allowed_hosts = '127.0.0.1, localhost'\n");
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');

sub add
{
	my ($name, $params) = @_;
	$node->safe_psql('postgres', "SELECT slo_add_check('$name', 'http', '$params')");
}
my $u = "http://127.0.0.1:$port";
add('fast', qq({"url": "$u/fast", "warn_ms": 2000}));
add('slow', qq({"url": "$u/slow?ms=600", "warn_ms": 300, "fail_ms": 5000}));
add('slowfail', qq({"url": "$u/slow?ms=600", "fail_ms": 300}));
add('s500', qq({"url": "$u/status/500"}));
add('s429', qq({"url": "$u/retry-after"}));
add('s400', qq({"url": "$u/status/400"}));
add('s400ok', qq({"url": "$u/status/400", "expect_status": 400}));
add('reset', qq({"url": "$u/reset"}));
add('hang', qq({"url": "$u/hang", "timeout_ms": 1000}));
add('redirect', qq({"url": "$u/redirect"}));
add('redirect302', qq({"url": "$u/redirect?to=http://127.0.0.1:$port/fast", "expect_status": 302}));
add('json_value', qq({"url": "$u/json?count=42", "value_path": "\$.count", "warn_above": 40, "fail_above": 100}));
add('json_fail', qq({"url": "$u/json?count=420", "value_path": "\$.count", "fail_above": 100}));
add('json_assert', qq({"url": "$u/json", "assert": "exists(\$.data.__schema.types[*] ? (\@.name == \\"machines\\"))"}));
add('json_assert_false', qq({"url": "$u/json", "assert": "\$.count > 1000"}));
add('json_nonumber', qq({"url": "$u/json", "value_path": "\$.status"}));
add('notjson', qq({"url": "$u/fast", "assert": "\$.a == 1"}));
add('post', qq({"url": "$u/hook/post", "method": "POST", "body": "{\\"q\\": 1}", "headers": {"Content-Type": "application/json"}}));
add('big', qq({"url": "$u/big?kb=2048"}));
add('byname', qq({"url": "http://localhost:$port/fast"}));

my $t0 = time;
my %r = map { my @f = split /\|/, $_, 4; ($f[0] => { status => $f[1], value => $f[2], summary => $f[3] }) }
  split /\n/, $node->safe_psql('postgres',
	q{SELECT check_name, status, round(value), summary FROM slo_run_checks(false)});
my $el = time - $t0;
ok($el < 3.5, "20 probes with a 1 s hang and two 600 ms waits took $el s: they were in flight together");

sub is_r
{
	my ($name, $status, $re, $what) = @_;
	is($r{$name}{status}, $status, "$name: $status ($what)");
	like($r{$name}{summary} // '', $re, "$name: summary") if $re;
}
is_r('fast', 'ok', qr{^GET http://127\.0\.0\.1:$port: HTTP 200 in \d+ ms\.$}, 'origin, status and latency');
ok($r{fast}{value} >= 0 && $r{fast}{value} < 1000, 'fast: value = latency ms');
is_r('slow', 'warn', qr/HTTP 200 in \d+ ms, slower than warn_ms 300/, 'over warn_ms');
ok($r{slow}{value} >= 590, "slow: latency >= 600 ms ($r{slow}{value})");
is_r('slowfail', 'fail', qr/slower than fail_ms 300/, 'over fail_ms');
is_r('s500', 'fail', qr/HTTP 500 in \d+ ms, expected 200/, 'unexpected status');
is_r('s429', 'fail', qr/HTTP 429/, '429');
is_r('s400', 'fail', qr/HTTP 400 .*expected 200/, '400');
is_r('s400ok', 'ok', qr/HTTP 400/, 'expect_status 400');
is_r('reset', 'fail', qr/failed after \d+ ms: curl error 56/, 'connection reset');
is_r('hang', 'fail', qr/no answer within \d+ ms/, 'timeout');
ok($r{hang}{value} >= 990 && $r{hang}{value} < 2000, "hang: cost its own timeout ($r{hang}{value} ms)");
is_r('redirect', 'fail', qr/HTTP 302 .*expected 200/, 'a redirect is not followed: the 302 is the status');
is_r('redirect302', 'ok', qr/HTTP 302/, 'a redirect to an allowed host is not followed either');
is_r('json_value', 'warn', qr/\$\.count = 42, above the warn threshold of 40/, 'value_path');
is($r{json_value}{value}, '42', 'json_value: value = the number at value_path');
is_r('json_fail', 'fail', qr/= 420, above the fail threshold of 100/, 'value_path over fail_above');
is_r('json_assert', 'ok', qr/HTTP 200/, 'assert holds');
is_r('json_assert_false', 'fail', qr/assert \$\.count > 1000 does not hold/, 'assert false');
is_r('json_nonumber', 'fail', qr/no number at value_path/, 'value_path to a string');
is_r('notjson', 'fail', qr/the body is not JSON/, 'assert on a non-JSON body');
is_r('post', 'ok', qr/^POST /, 'POST');
my @req = $srv->requests('post');
is("$req[0]{method} $req[0]{body} $req[0]{headers}{'Content-Type'}", 'POST {"q": 1} application/json',
	'the POST arrived with its body and header');
is_r('big', 'error', qr/the body is larger than 1048576 bytes/, 'a body over 1 MB is the check\'s error');
is_r('byname', 'ok', qr{http://localhost:$port: HTTP 200}, 'a host allowed by name');
unlike($node->safe_psql('postgres', q{SELECT string_agg(summary, ' ') FROM slo_result}), qr/\?ms=|\?count|\/slow|\/json/,
	'summaries name the origin only: no path, no query string');

# allowed_hosts at add: 22023 naming the host, never the path or query
my ($rc, $out, $err) = $node->psql('postgres',
	q{SELECT slo_add_check('evil', 'http', '{"url": "http://evil.example.com/x?key=SECRETKEY"}')});
like($err, qr/ERROR:  invalid value for parameter "url" of check kind "http": http:\/\/evil\.example\.com \(/,
	'a host outside allowed_hosts is refused at add');
like($err, qr/host "evil\.example\.com" is not allowed by slo_guard\.allowed_hosts/, 'the error names the host');
unlike($err, qr/SECRETKEY|\/x/, 'and not the path or query');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT slo_add_check('ftp', 'http', '{"url": "ftp://127.0.0.1/x"}')});
like($err, qr/scheme "ftp" is not one of http,https/, 'another scheme is refused');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT slo_add_check('badpath', 'http', '{"url": "http://127.0.0.1/", "assert": "$.a ==="}')});
like($err, qr/invalid value for parameter "assert".*\n.*not a valid jsonpath/, 'a bad jsonpath is refused at add');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT slo_add_check('badhdr', 'http', '{"url": "http://127.0.0.1/", "headers": {"X-Key": 5}}')});
like($err, qr/parameter "headers" of check kind "http": \(not shown\)/, 'a bad header value is refused without showing it');
($rc, $out, $err) = $node->psql('postgres',
	q{SELECT slo_add_check('badm', 'http', '{"url": "http://127.0.0.1/", "method": "get"}')});
like($err, qr/parameter "method".*get/, 'a bad method is refused');

# allowed_hosts at send: the address is checked again after a change of the setting
$node->safe_psql('postgres', q{ALTER SYSTEM SET slo_guard.allowed_hosts = 'localhost'});
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('slo_guard.allowed_hosts') = 'localhost'});
%r = map { my @f = split /\|/, $_, 3; ($f[0] => { status => $f[1], summary => $f[2] }) }
  split /\n/, $node->safe_psql('postgres',
	q{SELECT check_name, status, summary FROM slo_run_checks(false) WHERE check_name IN ('fast', 'byname')});
is($r{fast}{status}, 'error', 'an IP literal no longer allowed: error at send');
like($r{fast}{summary}, qr/http:\/\/127\.0\.0\.1:$port \(host "127\.0\.0\.1" is not allowed by slo_guard\.allowed_hosts\)/, 'naming the host');
is($r{byname}{status}, 'ok', 'a host still allowed by name connects');
$node->safe_psql('postgres', q{ALTER SYSTEM SET slo_guard.allowed_hosts = '127.0.0.1, 10.0.0.0/8'});
$node->reload;
$node->poll_query_until('postgres', q{SELECT current_setting('slo_guard.allowed_hosts') LIKE '127%'});
%r = map { my @f = split /\|/, $_, 3; ($f[0] => { status => $f[1], summary => $f[2] }) }
  split /\n/, $node->safe_psql('postgres',
	q{SELECT check_name, status, summary FROM slo_run_checks(false) WHERE check_name IN ('fast', 'byname')});
is($r{fast}{status}, 'ok', 'allowed again by address');
is($r{byname}{status}, 'error', 'a name no longer listed: error at send');

$node->stop;
$srv->stop;
done_testing();
