# Issue 11: the local test HTTP server (test/servers/httpd.py through
# SloHttpd.pm) answers as the http probe and delivery tests expect, and
# slo_guard.allowed_hosts accepts names and CIDR ranges and refuses junk.
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
ok($srv->port > 0, 'server started on a port of its own');

my $r = $srv->get('/fast');
is("$r->{status} $r->{content}", '200 ok', '/fast answers 200 at once');
my $t0 = time;
$r = $srv->get('/slow?ms=300');
my $el = time - $t0;
ok($r->{status} == 200 && $el >= 0.29 && $el < 5, "/slow?ms=300 answers after the delay ($el s)");
is($srv->get('/status/503')->{status}, 503, '/status/N answers N');
$r = $srv->get('/retry-after');
is("$r->{status} $r->{headers}{'retry-after'}", '429 2', '/retry-after: 429 with Retry-After: 2');
$r = $srv->get('/reset');
ok($r->{status} == 599 && $r->{content} =~ /reset|closed|read/i, '/reset resets the connection');
$r = HTTP::Tiny->new(max_redirect => 0)->get($srv->url('/redirect'));
is("$r->{status} $r->{headers}{location}", '302 http://redirect-target.invalid/fast', '/redirect: 302 to another host');
$r = $srv->get('/json?count=7');
like($r->{content}, qr/"count": 7/, '/json: a JSON body');
$t0 = time;
$r = HTTP::Tiny->new(timeout => 1)->get($srv->url('/hang'));
ok($r->{status} == 599 && time - $t0 >= 0.9, '/hang never answers');

$srv->set_script('recv', '500,500,down,200');
my @st = map { $srv->get("/hook/recv?n=$_")->{status} } 1 .. 5;
is("@st", '500 500 599 200 200', 'a hook answers by its script, the last token repeating');
my @req = $srv->requests('recv');
is(scalar(@req), 5, 'every request to the hook was recorded (also the one reset)');
is($req[0]{method} . ' ' . $req[0]{path}, 'GET /hook/recv?n=1', 'method and path recorded');
ok(exists $req[0]{headers}{'User-Agent'} || exists $req[0]{headers}{'user-agent'}, 'headers recorded');
$r = HTTP::Tiny->new->post($srv->url('/hook/post'),
	{ content => '{"a":1}', headers => { 'Content-Type' => 'application/json', 'X-Key' => 'v' } });
@req = $srv->requests('post');
is("$req[0]{method} $req[0]{body} $req[0]{headers}{'X-Key'}", 'POST {"a":1} v', 'POST body and headers recorded');
$srv->set_script('post', '429;retry-after=5');
$r = HTTP::Tiny->new->post($srv->url('/hook/post'), { content => 'x' });
is("$r->{status} $r->{headers}{'retry-after'}", '429 5', 'a script token sets status and Retry-After');
$srv->stop;
ok(!defined $srv->get('/fast')->{success} || $srv->get('/fast')->{status} == 599, 'stopped');

# slo_guard.allowed_hosts: names, addresses, CIDR ranges; junk refused
my $node = PostgreSQL::Test::Cluster->new('http_server');
$node->init;
$node->append_conf('postgresql.conf', "shared_preload_libraries = 'slo_guard'\nslo_guard.enabled = off\n");
$node->start;
is($node->safe_psql('postgres', 'SHOW slo_guard.allowed_hosts'), '', 'allowed_hosts defaults to none');
is($node->safe_psql('postgres', 'SHOW slo_guard.max_concurrent_http'), '100', 'max_concurrent_http defaults to 100');
$node->safe_psql('postgres', q{ALTER SYSTEM SET slo_guard.allowed_hosts = 'api.example.com, 10.0.0.0/8, ::1/128, 127.0.0.1'});
$node->reload;
ok($node->poll_query_until('postgres', q{SELECT current_setting('slo_guard.allowed_hosts') LIKE 'api.example.com%'}),
	'a list of names, ranges and addresses is accepted (SIGHUP)');
my ($rc, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET slo_guard.allowed_hosts = 'good.host, bad host!'});
like($err, qr/invalid value.*\n.*"bad host!" is not a host name/, 'junk in the list is refused with the item named');
($rc, $out, $err) = $node->psql('postgres', q{ALTER SYSTEM SET slo_guard.allowed_hosts = '10.0.0.0/33'});
like($err, qr/"10.0.0.0\/33" is not a host name/, 'a range with too many bits is refused');
$node->stop;
done_testing();
