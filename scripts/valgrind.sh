#!/usr/bin/env bash
# slo_guard's regression suite with the server under valgrind (issue 15); run
# it before each release:
#
#   bash scripts/valgrind.sh                 # PG_CONFIG=... to pick the server
#
# Builds a private copy of the tree (-Og -g, assertions off as in Debian's
# server), installs it, starts a throwaway cluster whose postmaster (and every
# backend, with --trace-children) runs under valgrind memcheck with
# PostgreSQL's suppressions file, runs every test/sql file with pg_regress
# against it (the same files and expected outputs as scripts/test.sh), then
# reads valgrind's logs. It fails if a regression test fails or valgrind
# reports an error whose stack has a frame in slo_guard's code; errors with no
# slo_guard frame (PostgreSQL, libc) are counted and shown, not judged.
#
# The suppressions file is PostgreSQL's src/tools/valgrind.supp (of the
# server's major version): VALGRIND_SUPP=/path/to/valgrind.supp, or else it is
# looked for in a PostgreSQL source tree (PG_SRC=...), or else downloaded from
# git.postgresql.org. It is not shipped with the Debian packages, and is not
# copied into this repository. KEEP_TMP=1 keeps the work dir (logs).
# Takes 10-20 minutes on two cores.
set -uo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

command -v valgrind >/dev/null || {
	echo "valgrind is not installed (scripts/install-deps.sh installs it)" >&2
	exit 2
}
WORK=$(sg_mktemp slo_guard_valgrind) || exit 2
DATA=$WORK/data
cleanup() {
	[[ -f "$DATA/postmaster.pid" ]] && sg_cluster_stop "$DATA"
	if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "==> kept $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

# ---- what valgrind found
# An error is slo_guard's when the innermost frame of its own stack that is
# not in libc, the dynamic loader or valgrind is in the module (a source file
# of this copy, or slo_guard.so). An error inside PostgreSQL (WAL padding
# written from a stripped binary, which the suppressions cannot name; JIT's
# dlopen) whose allocation merely happened under a slo_guard call is not.
judge() {
	local vglog=$1 src=$2 f n m
	total=0
	ours=0
	for f in "$vglog"/*.log; do
		[[ -s "$f" ]] || continue
		n=$(grep -c 'VALGRINDERROR-BEGIN' "$f")
		total=$((total + n))
		m=$(awk -v src="$src/src/" '
			/VALGRINDERROR-BEGIN/ { inblk = 1; primary = 1; decided = 0; blk = ""; next }
			/VALGRINDERROR-END/ { if (isours) { n++; print blk > "/dev/stderr" } inblk = 0; isours = 0; next }
			inblk { blk = blk "\n" $0 }
			inblk && /(Address |Uninitialised value was created|Block was alloc|bytes inside|bytes after)/ { primary = 0 }
			inblk && primary && !decided && /(at|by) 0x/ {
				if ($0 ~ /vgpreload|libc\.so|ld-linux|\/elf\/|libio\/|sysdeps\/|dlfcn\/|string\/|stdio-common\//) next
				decided = 1
				isours = (index($0, src) > 0 || $0 ~ /slo_guard\.so/)
			}
			END { print n + 0 }' "$f" 2>>"$vglog/../ours.txt")
		ours=$((ours + m))
	done
	if ((ours > 0)); then
		echo "---- errors in slo_guard's code:"
		head -n 200 "$vglog/../ours.txt"
	fi
	echo "valgrind: $total error(s) reported, $ours in slo_guard's code; processes traced: $(ls "$vglog" | wc -l)"
}

# scripts/valgrind.sh --judge WORKDIR: judge the logs a kept run left (KEEP_TMP=1)
if [[ "${1:-}" == --judge ]]; then
	rm -rf "$WORK"
	WORK=$2
	KEEP_TMP=1
	: >"$WORK/ours.txt"
	judge "$WORK/vg" "$WORK/src"
	((ours == 0))
	exit $?
fi

# ---- the suppressions file
MAJOR=$("$PG_CONFIG" --version | sed -E 's/^PostgreSQL ([0-9]+).*/\1/')
SUPP=$WORK/valgrind.supp
if [[ -n "${VALGRIND_SUPP:-}" ]]; then
	cp "$VALGRIND_SUPP" "$SUPP" || exit 2
elif [[ -n "${PG_SRC:-}" && -f "$PG_SRC/src/tools/valgrind.supp" ]]; then
	cp "$PG_SRC/src/tools/valgrind.supp" "$SUPP"
elif ! curl -fsS --max-time 60 -o "$SUPP" \
	"https://git.postgresql.org/gitweb/?p=postgresql.git;a=blob_plain;f=src/tools/valgrind.supp;hb=REL_${MAJOR}_STABLE"; then
	echo "no suppressions file: set VALGRIND_SUPP=/path/to/postgresql/src/tools/valgrind.supp" >&2
	exit 2
fi
grep -q 'Memcheck' "$SUPP" || {
	echo "$SUPP is not a valgrind suppressions file" >&2
	exit 2
}
chmod 644 "$SUPP"
sg_say "suppressions: PostgreSQL $MAJOR's src/tools/valgrind.supp ($(grep -c '^{' "$SUPP") entries)"

# ---- build and install
SRC=$WORK/src
sg_copy_tree "$SRC" || exit 2
sg_say "build: make PG_CFLAGS='-Og -g -fno-omit-frame-pointer -DSLO_TEST_KINDS'"
if ! sg_build "$SRC" "$WORK/build.log" -Og -g -fno-omit-frame-pointer -DSLO_TEST_KINDS ||
	! sg_install "$SRC" "$WORK/build.log"; then
	tail -n 30 "$WORK/build.log"
	exit 1
fi

# ---- the cluster, its postmaster under valgrind
PORT=$(sg_free_port)
sg_cluster_init "$DATA" "$PORT" "max_connections = 20" "datestyle = 'ISO, YMD'" \
	"statement_timeout = 0" "jit = off" || exit 1
VGLOG=$WORK/vg
mkdir -p "$VGLOG" && chmod 777 "$VGLOG"
sg_say "starting the server under valgrind (port $PORT)"
sg_as_pg valgrind --quiet --trace-children=yes --track-origins=yes --read-var-info=no \
	--num-callers=40 --leak-check=no --gen-suppressions=all --fullpath-after= \
	--suppressions="$SUPP" --error-markers=VALGRINDERROR-BEGIN,VALGRINDERROR-END \
	--log-file="$VGLOG/%p.log" \
	"$PG_BINDIR/postgres" -D "$DATA" >"$WORK/server.log" 2>&1 &
for _ in $(seq 1 300); do
	sg_as_pg "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" && break
	sleep 1
done
sg_as_pg "$PG_BINDIR/pg_isready" -q -h 127.0.0.1 -p "$PORT" || {
	echo "the server did not start under valgrind" >&2
	tail -n 30 "$WORK/server.log"
	exit 1
}

# ---- the regression suite
mapfile -t TESTS < <(cd "$SRC/test/sql" && ls -- *.sql | sed 's/\.sql$//' | sort)
PGXS_DIR=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
sg_say "pg_regress: ${#TESTS[@]} tests"
mkdir -p "$WORK/out" && chown -R "$SG_PG_USER" "$WORK/out" 2>/dev/null
(cd "$SRC" && sg_as_pg "$PGXS_DIR/test/regress/pg_regress" --inputdir=test \
	--outputdir="$WORK/out" --host=127.0.0.1 --port="$PORT" \
	--dbname=contrib_regression --max-connections=1 "${TESTS[@]}") >"$WORK/regress.out" 2>&1
regress_rc=$?
grep -E '^(test| ) ' "$WORK/regress.out" | sed 's/^/    /'
tail -n 3 "$WORK/regress.out" | sed 's/^/    /'
sg_cluster_stop "$DATA"
sleep 2

# ---- judge
: >"$WORK/ours.txt"
judge "$VGLOG" "$SRC"
if ((regress_rc != 0)); then
	echo "regression tests failed under valgrind"
	[[ -f "$WORK/out/regression.diffs" ]] && head -n 60 "$WORK/out/regression.diffs"
	exit 1
fi
((ours == 0)) || exit 1
echo "valgrind: no error in slo_guard's code"
