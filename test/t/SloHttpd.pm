# SloHttpd: start and stop test/servers/httpd.py (a local HTTP server on
# 127.0.0.1 with probe endpoints and recording receivers) from a Perl TAP test.
#
#   use FindBin; use lib $FindBin::Bin; use SloHttpd;
#   my $srv = SloHttpd->start();                 # opts: dir => ..., port => ..., max_seconds => ...
#   my $url = $srv->url('/slow?ms=300');         # http://127.0.0.1:PORT/slow?ms=300
#   $srv->set_script('pd', '500,500,500,200');   # answers of /hook/pd, in turn
#   my @reqs = $srv->requests('pd');             # [{method, path, headers, body, answer, t}, ...]
#   $srv->stop;                                  # also done when the object goes away
#
# The endpoints are listed at the top of test/servers/httpd.py.
package SloHttpd;
use strict;
use warnings;

use File::Basename qw(dirname);
use File::Spec;
use File::Temp qw(tempdir);
use HTTP::Tiny;
use JSON::PP;
use POSIX qw(:sys_wait_h);
use Time::HiRes qw(usleep time);

my $SCRIPT = File::Spec->rel2abs(File::Spec->catfile(dirname(__FILE__), '..', 'servers', 'httpd.py'));

sub start
{
	my ($class, %opts) = @_;
	my $dir = $opts{dir} // tempdir('slo_httpd_XXXX', TMPDIR => 1, CLEANUP => 1);
	my $portfile = "$dir/port";
	unlink $portfile;
	my @cmd = ('python3', $SCRIPT, '--dir', $dir, '--port-file', $portfile,
		'--port', $opts{port} // 0, '--max-seconds', $opts{max_seconds} // 900);
	my $pid = fork();
	die "fork: $!" unless defined $pid;
	if ($pid == 0)
	{
		open(STDIN, '<', '/dev/null');
		open(STDOUT, '>>', "$dir/httpd.log");
		open(STDERR, '>&', \*STDOUT);
		exec(@cmd) or POSIX::_exit(127);
	}
	my $deadline = time() + 15;
	while (!-s $portfile)
	{
		die "httpd.py did not start (see $dir/httpd.log)"
		  if time() > $deadline || waitpid($pid, WNOHANG) == $pid;
		usleep(20_000);
	}
	open(my $fh, '<', $portfile) or die "$portfile: $!";
	my $port = <$fh>;
	close $fh;
	chomp $port;
	my $self = bless { pid => $pid, port => $port + 0, dir => $dir,
		http => HTTP::Tiny->new(timeout => 10) }, $class;
	return $self;
}

sub port { return $_[0]->{port}; }
sub dir  { return $_[0]->{dir}; }

sub url
{
	my ($self, $path) = @_;
	$path //= '/';
	$path = "/$path" unless $path =~ m{^/};
	return "http://127.0.0.1:$self->{port}$path";
}

# The requests /hook/NAME received so far, oldest first.
sub requests
{
	my ($self, $name) = @_;
	my $f = "$self->{dir}/$name.jsonl";
	return () unless -e $f;
	open(my $fh, '<', $f) or die "$f: $!";
	my @r;
	while (my $line = <$fh>)
	{
		next unless $line =~ /\S/;
		next unless $line =~ /\}\s*$/;    # a line being written
		push @r, JSON::PP->new->decode($line);
	}
	close $fh;
	return @r;
}

sub set_script
{
	my ($self, $name, $script) = @_;
	my $r = $self->{http}->post($self->url("/_control/script/$name"), { content => $script });
	die "set_script($name): $r->{status} $r->{content}" unless $r->{success};
	return JSON::PP->new->decode($r->{content});
}

sub clear
{
	my ($self, $name) = @_;
	my $r = $self->{http}->post($self->url("/_control/clear/$name"), { content => '' });
	die "clear($name): $r->{status}" unless $r->{success};
	return;
}

# A plain GET through the server, for tests that check the server itself.
sub get
{
	my ($self, $path) = @_;
	return $self->{http}->get($self->url($path));
}

sub stop
{
	my ($self) = @_;
	my $pid = delete $self->{pid};
	return unless $pid;
	kill 'TERM', $pid;
	my $deadline = time() + 5;
	while (waitpid($pid, WNOHANG) == 0)
	{
		if (time() > $deadline)
		{
			kill 'KILL', $pid;
			waitpid($pid, 0);
			last;
		}
		usleep(20_000);
	}
	return;
}

sub DESTROY
{
	my ($self) = @_;
	local ($?, $!);
	$self->stop if $self->{pid};
	return;
}

1;
