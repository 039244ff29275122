# shellcheck shell=bash
# Helpers shared by scripts/test.sh, scripts/demo.sh and bench/common.bash (sourced, not run):
# building a private copy of the tree, installing it, and throwaway clusters.
#
# PostgreSQL refuses to run as root, so every server-side command goes
# through sg_as_pg, which drops to the `postgres` user when run as root.

SG_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BINDIR=/usr/lib/postgresql/15/bin
[[ -x "$PG_CONFIG" ]] && PG_BINDIR=$("$PG_CONFIG" --bindir)
SG_PG_USER=postgres

sg_say() { printf '==> %s\n' "$*"; }
sg_warn() { printf '==> WARNING: %s\n' "$*" >&2; }

# Run a command as the postgres user (or as ourselves when not root), with
# PostgreSQL 15's bindir first in PATH.
sg_as_pg() {
	if ((EUID == 0)); then
		runuser -u "$SG_PG_USER" -- env PATH="$PG_BINDIR:$PATH" "$@"
	else
		env PATH="$PG_BINDIR:$PATH" "$@"
	fi
}

# Run a command as root (for make install).
sg_as_root() {
	if ((EUID == 0)); then "$@"; else sudo "$@"; fi
}

# sg_mktemp PREFIX: a fresh directory under /tmp that the postgres user owns.
sg_mktemp() {
	local d
	d=$(mktemp -d "/tmp/$1.XXXXXX") || return 1
	chmod 755 "$d"
	((EUID == 0)) && chown "$SG_PG_USER:" "$d"
	echo "$d"
}

# sg_copy_tree DEST: copy the checkout (without .git and build products) to
# DEST, owned by postgres, so builds and test output never touch the checkout.
sg_copy_tree() {
	local dest=$1
	mkdir -p "$dest"
	tar -C "$SG_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' \
		--exclude='*.bc' --exclude=./tmp_check --exclude=./test/tmp_check \
		--exclude=./test/results --exclude=./test/log -cf - . |
		tar -C "$dest" -xf - || return 1
	((EUID == 0)) && chown -R "$SG_PG_USER:" "$dest"
	return 0
}

# sg_build DIR LOG CFLAGS...: clean build of the copy in DIR with the given
# PG_CFLAGS, all output to LOG. Built as postgres: the tree is theirs.
sg_build() {
	local dir=$1 log=$2
	shift 2
	(
		cd "$dir" || exit 1
		sg_as_pg make -s PG_CONFIG="$PG_CONFIG" clean >/dev/null 2>&1
		sg_as_pg make -j2 PG_CONFIG="$PG_CONFIG" PG_CFLAGS="$*"
	) >"$log" 2>&1
}

# sg_install DIR LOG: make install (as root) into Debian's PostgreSQL 15.
sg_install() {
	(cd "$1" && sg_as_root make PG_CONFIG="$PG_CONFIG" install) >>"$2" 2>&1
}

# A TCP port on 127.0.0.1 that nothing listens on.
sg_free_port() {
	local p i
	for ((i = 0; i < 200; i++)); do
		p=$((20000 + RANDOM % 40000))
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# sg_cluster_init DATADIR PORT [CONF-LINE...]: initdb a throwaway cluster
# listening on 127.0.0.1:PORT only (and a socket inside DATADIR's parent),
# tuned for speed, not durability. Extra lines go to postgresql.conf.
sg_cluster_init() {
	local data=$1 port=$2
	shift 2
	local sock
	sock=$(dirname "$data")
	sg_as_pg "$PG_BINDIR/initdb" -D "$data" -U postgres -A trust -E UTF8 \
		--locale=C --no-sync >"$data.initdb.log" 2>&1 || {
		cat "$data.initdb.log" >&2
		return 1
	}
	{
		echo "# throwaway cluster (scripts/lib.sh)"
		echo "listen_addresses = '127.0.0.1'"
		echo "port = $port"
		echo "unix_socket_directories = '$sock'"
		echo "fsync = off"
		echo "synchronous_commit = off"
		echo "full_page_writes = off"
		echo "max_connections = 40"
		echo "shared_buffers = 64MB"
		echo "timezone = 'UTC'"
		echo "log_line_prefix = '%m [%p] %q%a@%d '"
		local line
		for line in "$@"; do echo "$line"; done
	} | sg_as_pg tee -a "$data/postgresql.conf" >/dev/null
}

# sg_cluster_start DATADIR LOGFILE: start and wait until it accepts connections.
sg_cluster_start() {
	sg_as_pg "$PG_BINDIR/pg_ctl" -D "$1" -l "$2" -w -t 60 start >/dev/null 2>&1
}

# sg_cluster_stop DATADIR: fast shutdown, immediate if that hangs. Quiet, and
# a no-op when the cluster is not running.
sg_cluster_stop() {
	[[ -f "$1/postmaster.pid" ]] || return 0
	sg_as_pg "$PG_BINDIR/pg_ctl" -D "$1" -m fast -w -t 20 stop >/dev/null 2>&1 ||
		sg_as_pg "$PG_BINDIR/pg_ctl" -D "$1" -m immediate -w -t 20 stop >/dev/null 2>&1 ||
		true
}

# sg_stop_all_under DIR: stop every cluster still running with its data
# directory under DIR (one a test left behind after a timeout or a crash).
sg_stop_all_under() {
	local pidfile
	[[ -d "$1" ]] || return 0
	while IFS= read -r pidfile; do
		sg_as_pg "$PG_BINDIR/pg_ctl" -D "$(dirname "$pidfile")" -m immediate \
			-w -t 20 stop >/dev/null 2>&1 || true
	done < <(find "$1" -name postmaster.pid 2>/dev/null)
}

# sg_load_failed LOGFILE: did the server fail to load the module?
sg_load_failed() {
	grep -qE 'could not load library|undefined symbol|incompatible library' "$1" 2>/dev/null
}
