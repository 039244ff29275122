# Issue 11, real peers: a real Alertmanager (Debian prometheus-alertmanager)
# receives the alert from an alertmanager target, lists it in its own
# GET /api/v2/alerts, and resolves it; a local aiosmtpd SMTP server receives
# the e-mail of an email target (Subject, Date, Message-ID, From, To).
use strict;
use warnings;

use FindBin;
use lib $FindBin::Bin;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use PostgreSQL::Test::Cluster;
use PostgreSQL::Test::Utils;
use Test::More;
use Time::HiRes qw(usleep time);

my $AM = '/usr/bin/prometheus-alertmanager';
plan skip_all => "$AM not installed" unless -x $AM;

my $dir = tempdir('slo_deliver_XXXX', TMPDIR => 1, CLEANUP => 1);
my @pids;

sub spawn
{
	my ($log, @cmd) = @_;
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', $log);
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or POSIX::_exit(127);
	}
	push @pids, $pid;
	return $pid;
}

END
{
	local $?;    # keep the test's exit status
	for my $pid (@pids)
	{
		kill 'TERM', $pid;
		waitpid($pid, 0);
	}
}

# Alertmanager on a free port, no cluster, a route to a receiver that does nothing
my $am_port = PostgreSQL::Test::Cluster::get_free_port();
open(my $fh, '>', "$dir/am.yml") or die;
print $fh "route:\n  receiver: 'null'\n  group_wait: 1s\nreceivers:\n  - name: 'null'\n";
close $fh;
mkdir "$dir/am";
spawn("$dir/am.log", $AM, "--config.file=$dir/am.yml", "--storage.path=$dir/am",
	"--web.listen-address=127.0.0.1:$am_port", '--cluster.listen-address=');
my $http = HTTP::Tiny->new(timeout => 5);
my $deadline = time + 30;
usleep(200_000) until $http->get("http://127.0.0.1:$am_port/-/ready")->{success} || time > $deadline;
ok($http->get("http://127.0.0.1:$am_port/-/ready")->{success}, 'alertmanager is up');

# aiosmtpd with a handler that writes each message to a file
my $smtp_port = PostgreSQL::Test::Cluster::get_free_port();
open($fh, '>', "$dir/slo_smtp_sink.py") or die;
print $fh <<'PY';
import json, os
class Sink:
    async def handle_DATA(self, server, session, envelope):
        with open(os.environ['SLO_SMTP_FILE'], 'a') as f:
            f.write(json.dumps({'from': envelope.mail_from, 'to': envelope.rcpt_tos,
                                'data': envelope.content.decode('utf-8', 'replace')}) + '\n')
        return '250 OK'
PY
close $fh;
$ENV{PYTHONPATH} = $dir;
$ENV{SLO_SMTP_FILE} = "$dir/mail.jsonl";
spawn("$dir/smtp.log", '/usr/bin/python3', '-m', 'aiosmtpd', '-n', '-l', "127.0.0.1:$smtp_port", '-c', 'slo_smtp_sink.Sink');

my $node = PostgreSQL::Test::Cluster->new('deliver_peers');
$node->init;
$node->append_conf('postgresql.conf', qq{
shared_preload_libraries = 'slo_guard'
slo_guard.naptime = 200
slo_guard.allowed_hosts = '127.0.0.1'
});
$node->start;
$node->safe_psql('postgres', 'CREATE EXTENSION slo_guard');
$node->safe_psql('postgres', qq{
SELECT slo_add_target('am', 'alertmanager', 'http://127.0.0.1:$am_port');
SELECT slo_add_target('mail', 'email', 'smtp://127.0.0.1:$smtp_port',
       params => '{"from": "slo-guard\@db.example", "to": ["oncall\@example.com", "lead\@example.com"]}');
SELECT slo_add_check('payments_table', 'table_exists', '{"tables": ["payments"]}', severity => 'P0',
       every => '1 second', labels => '{"team": "payments", "runbook": "https://wiki.example/rb/pay"}');
});

sub am_alerts
{
	my $r = $http->get("http://127.0.0.1:$am_port/api/v2/alerts");
	return $r->{success} ? decode_json($r->{content}) : [];
}

my @mine;
$deadline = time + 30;
while (time < $deadline)
{
	@mine = grep { $_->{labels}{alertname} eq 'payments_table' } @{ am_alerts() };
	last if @mine;
	usleep(200_000);
}
is(scalar(@mine), 1, "Alertmanager lists the alert in GET /api/v2/alerts");
is($mine[0]{labels}{severity}, 'P0', 'with its severity label');
is($mine[0]{labels}{team}, 'payments', "and the check's labels");
is($mine[0]{annotations}{summary}, 'Table payments is missing.', 'and the summary annotation');
is($mine[0]{status}{state}, 'active', 'active');

# the e-mail
my @mail;
$deadline = time + 30;
while (time < $deadline)
{
	if (open(my $m, '<', "$dir/mail.jsonl"))
	{
		@mail = map { decode_json($_) } grep { /\}\s*$/ } <$m>;
		close $m;
	}
	last if @mail;
	usleep(200_000);
}
is(scalar(@mail), 1, 'the SMTP server received one e-mail');
is($mail[0]{from}, 'slo-guard@db.example', 'envelope from');
is(join(',', @{ $mail[0]{to} }), 'oncall@example.com,lead@example.com', 'envelope recipients');
my $data = $mail[0]{data};
my $did = $node->safe_psql('postgres', "SELECT d.id FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'mail'");
like($data, qr/^Subject: \[slo_guard\] FIRING P0 payments_table: Table payments is missing\.\r?$/m, 'Subject');
like($data, qr/^From: slo-guard\@db\.example\r?$/m, 'From header');
like($data, qr/^To: oncall\@example\.com, lead\@example\.com\r?$/m, 'To header');
like($data, qr/^Date: \w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r?$/m, 'Date header (RFC 5322)');
like($data, qr/^Message-ID: <slo_guard\.$did\.postgres\@slo-guard\.invalid>\r?$/m, 'Message-ID carries the delivery id');
like($data, qr/^Summary:  Table payments is missing\.\r?$/m, 'the summary in the text');
like($data, qr/^Runbook:  https:\/\/wiki\.example\/rb\/pay\r?$/m, 'the runbook link in the text');
is($node->safe_psql('postgres', "SELECT state || ' ' || last_status FROM slo_delivery WHERE id = $did"), 'delivered 250',
	'the e-mail delivery is delivered (SMTP 250)');

# resolve: Alertmanager gets endsAt and no longer lists it as active
$node->safe_psql('postgres', 'CREATE TABLE payments (id int)');
$deadline = time + 30;
my $resolved = 0;
while (time < $deadline)
{
	@mine = grep { $_->{labels}{alertname} eq 'payments_table' } @{ am_alerts() };
	if (!@mine || $mine[0]{status}{state} ne 'active' ||
		$node->safe_psql('postgres', "SELECT count(*) FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id WHERE t.name = 'am' AND d.event = 'resolved' AND d.state = 'delivered'") eq '1' && !@mine)
	{
		$resolved = 1;
		last;
	}
	usleep(200_000);
}
ok($resolved, 'after the resolve Alertmanager no longer lists the alert as active');
is($node->safe_psql('postgres', "SELECT count(*) FROM slo_delivery WHERE state = 'delivered'"), '4',
	'firing and resolved delivered to both targets');

$node->stop;
done_testing();
