# shellcheck shell=bash
# Helpers shared by the bench/*.sh benchmarks (sourced, not run; the .bash
# suffix keeps bench/run.sh from running it as a benchmark).
#
#   bench_deps           install the packages (scripts/install-deps.sh)
#   bench_build          make && make install in a private copy of the tree
#   bench_cluster_start  a throwaway cluster owned by postgres, unix socket
#                        only, stopped and removed on exit
#   bench_psql ARGS...   psql as postgres on that cluster, ON_ERROR_STOP
#   bench_create_extension FN...  CREATE EXTENSION, pinned to our build
#
# Everything that touches the server runs as the postgres user: PostgreSQL
# refuses to run as root.

BENCH_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BENCH_ROOT=$(cd "$BENCH_DIR/.." && pwd)
PG_CONFIG=${PG_CONFIG:-/usr/lib/postgresql/15/bin/pg_config}
PG_BINDIR=/usr/lib/postgresql/15/bin
BENCH_PG_USER=postgres

# The generic helpers (say, run as postgres) are the test and demo scripts' own.
# shellcheck source=scripts/lib.sh
source "$BENCH_ROOT/scripts/lib.sh"
SG_PG_USER=$BENCH_PG_USER

bench_say() { sg_say "$@"; }
bench_die() {
	printf '==> ERROR: %s\n' "$*" >&2
	exit 1
}
bench_as_pg() { sg_as_pg "$@"; }

# The build and test packages, from scripts/install-deps.sh when the tree has
# it; otherwise the few this benchmark needs.
bench_deps() {
	if [[ -f "$BENCH_ROOT/scripts/install-deps.sh" ]]; then
		bash "$BENCH_ROOT/scripts/install-deps.sh" || bench_die "scripts/install-deps.sh failed"
	else
		local pkg missing=()
		for pkg in check-postgres postgresql-15 postgresql-server-dev-15 libcurl4-openssl-dev make gcc; do
			[[ "$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)" == "install ok installed" ]] ||
				missing+=("$pkg")
		done
		if ((${#missing[@]})); then
			bench_say "installing ${missing[*]}"
			if ! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 update -qq ||
				! DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
					install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; then
				bench_die "apt-get install ${missing[*]} failed"
			fi
		fi
	fi
	[[ -x "$PG_CONFIG" ]] || bench_die "$PG_CONFIG not found (postgresql-server-dev-15)"
	PG_BINDIR=$("$PG_CONFIG" --bindir)
}

# bench_tmp: a fresh directory for this run (BENCH_TMP), owned by postgres,
# removed (with the cluster in it) when the script exits.
bench_tmp() {
	[[ -n "${BENCH_TMP:-}" ]] && return 0
	BENCH_TMP=$(mktemp -d /tmp/slo_bench.XXXXXX) || bench_die "mktemp failed"
	chmod 755 "$BENCH_TMP"
	((EUID == 0)) && chown "$BENCH_PG_USER:" "$BENCH_TMP"
	trap bench_cluster_cleanup EXIT
	trap 'exit 130' INT TERM
}

# bench_build: `make -s && make -s install` at the root of a private copy of
# the tree ($BENCH_TMP/src, without .git and build products): a clean build
# with the server's own CFLAGS (-O2, no assertions), which other work running
# `make` in the checkout at the same time cannot mix its objects or flags into.
# The checkout may not build for a while when a change is half-way in, so a
# failed build is retried on a fresh copy: BENCH_BUILD_TRIES (10) times,
# BENCH_BUILD_WAIT (30) seconds apart. Sets BENCH_SRC and BENCH_SO.
bench_build() {
	local try tries=${BENCH_BUILD_TRIES:-10} log
	bench_tmp
	BENCH_SRC=$BENCH_TMP/src
	log=$BENCH_TMP/build.log
	for ((try = 1; try <= tries; try++)); do
		rm -rf "$BENCH_SRC"
		mkdir -p "$BENCH_SRC"
		tar -C "$BENCH_ROOT" --exclude=./.git --exclude='*.o' --exclude='*.so' --exclude='*.bc' \
			--exclude=./tmp_check --exclude=./test/tmp_check --exclude=./test/results \
			--exclude=./test/log --exclude=./results --exclude=./log -cf - . |
			tar -C "$BENCH_SRC" -xf - || bench_die "could not copy the tree"
		if (cd "$BENCH_SRC" && make -s -j"$(nproc)" PG_CONFIG="$PG_CONFIG" &&
			make -s PG_CONFIG="$PG_CONFIG" install) >"$log" 2>&1; then
			BENCH_SO=$BENCH_SRC/slo_guard.so
			[[ -f "$BENCH_SO" ]] || bench_die "the build made no slo_guard.so"
			return 0
		fi
		bench_say "build failed (try $try of $tries); last lines:"
		tail -n 5 "$log" | sed 's/^/    /'
		((try < tries)) && sleep "${BENCH_BUILD_WAIT:-30}"
	done
	bench_die "the extension does not build"
}

# make install of our build again (no rebuild): the extension directories are
# shared with other builds of this tree, so put ours back right before use.
bench_reinstall() {
	[[ -n "${BENCH_SRC:-}" ]] || return 0
	(cd "$BENCH_SRC" && make -s PG_CONFIG="$PG_CONFIG" install) >>"$BENCH_TMP/build.log" 2>&1
}

# bench_cluster_start [CONF-LINE...]: initdb a cluster in a fresh directory
# owned by postgres, listening on a unix socket in that directory only
# (listen_addresses = ''), on a port no other socket there uses. Sets
# BENCH_DATA, BENCH_SOCK, BENCH_PORT and BENCH_LOG (under BENCH_TMP); the
# cluster is stopped and removed when the script exits. Default settings otherwise
# (fsync on): the figures are those of a normal server.
bench_cluster_start() {
	bench_tmp
	BENCH_DATA=$BENCH_TMP/data
	BENCH_SOCK=$BENCH_TMP
	BENCH_LOG=$BENCH_TMP/server.log
	# The socket lives in our own directory, so any port is free there; pick
	# one nothing listens on over TCP either, to keep log lines unambiguous.
	local i
	for ((i = 0; i < 100; i++)); do
		BENCH_PORT=$((20000 + RANDOM % 40000))
		(exec 3<>"/dev/tcp/127.0.0.1/$BENCH_PORT") 2>/dev/null || break
	done
	bench_as_pg "$PG_BINDIR/initdb" -D "$BENCH_DATA" -U postgres -A trust -E UTF8 \
		--locale=C >"$BENCH_TMP/initdb.log" 2>&1 || {
		cat "$BENCH_TMP/initdb.log" >&2
		bench_die "initdb failed"
	}
	{
		echo "# slo_guard benchmark cluster (bench/common.bash)"
		echo "listen_addresses = ''"
		echo "port = $BENCH_PORT"
		echo "unix_socket_directories = '$BENCH_SOCK'"
		echo "timezone = 'UTC'"
		local line
		for line in "$@"; do echo "$line"; done
	} | bench_as_pg tee -a "$BENCH_DATA/postgresql.conf" >/dev/null
	bench_as_pg "$PG_BINDIR/pg_ctl" -D "$BENCH_DATA" -l "$BENCH_LOG" -w -t 60 start >/dev/null 2>&1 || {
		cat "$BENCH_LOG" >&2
		bench_die "the benchmark cluster did not start"
	}
	export PGHOST=$BENCH_SOCK PGPORT=$BENCH_PORT PGUSER=postgres PGDATABASE=postgres
}

bench_cluster_cleanup() {
	[[ -n "${BENCH_TMP:-}" && -d "$BENCH_TMP" ]] || return 0
	if [[ -f "$BENCH_DATA/postmaster.pid" ]]; then
		bench_as_pg "$PG_BINDIR/pg_ctl" -D "$BENCH_DATA" -m fast -w -t 30 stop >/dev/null 2>&1 ||
			bench_as_pg "$PG_BINDIR/pg_ctl" -D "$BENCH_DATA" -m immediate -w -t 30 stop >/dev/null 2>&1
	fi
	rm -rf "$BENCH_TMP"
}

# psql as postgres on the benchmark cluster, quiet, stopping at the first error.
bench_psql() {
	bench_as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h "$BENCH_SOCK" -p "$BENCH_PORT" \
		-U postgres -d postgres "$@"
}

# bench_create_extension FUNCTION...: CREATE EXTENSION slo_guard from our
# build (make install again right before it; again if the named SQL functions
# are missing because another build installed over ours in between), then pin
# its C functions to our own slo_guard.so ($BENCH_SO) instead of the shared
# $libdir copy, which other builds of the tree (some with assertions) replace
# at any time: the timed code is exactly the code built here.
# Without bench_build (BENCH_SKIP_BUILD=1) the installed copy is used as is.
bench_create_extension() {
	local try f ok pinned
	for try in 1 2 3; do
		bench_reinstall
		bench_psql -c 'DROP EXTENSION IF EXISTS slo_guard CASCADE' -c 'CREATE EXTENSION slo_guard' \
			>/dev/null 2>"$BENCH_TMP/create.err" || true
		ok=1
		for f in "$@"; do
			[[ "$(bench_psql -Atc "SELECT to_regproc('$f') IS NOT NULL" 2>/dev/null)" == t ]] || ok=0
		done
		((ok)) && break
		bench_say "CREATE EXTENSION slo_guard did not give $* (another build installed over ours?); again"
		cat "$BENCH_TMP/create.err" >&2
	done
	((ok)) || bench_die "CREATE EXTENSION slo_guard does not give $*"
	[[ -n "${BENCH_SO:-}" ]] || return 0
	pinned=$(bench_psql -Atc "
		WITH u AS (UPDATE pg_catalog.pg_proc SET probin = '$BENCH_SO'
		            WHERE probin = '\$libdir/slo_guard' RETURNING 1)
		SELECT count(*) FROM u")
	((pinned > 0)) || bench_die "no C function of slo_guard to pin to $BENCH_SO"
}

# Median and minimum of numbers on stdin, one a line: "MEDIAN MIN".
bench_median_min() {
	sort -g | awk '{ v[NR] = $1 } END {
		if (NR == 0) { print "nan nan"; exit }
		m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.3f %.3f\n", m, v[1] }'
}
