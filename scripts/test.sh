#!/usr/bin/env bash
# slo_guard's test command (README; .ci/run calls exactly this).
#
#   bash scripts/test.sh
#
# From a clean checkout, as root (or a sudoer), with no stdin:
#   1. installs the Debian packages it needs (scripts/install-deps.sh);
#   2. builds a private copy of the tree with -Wall -Wextra -Werror and
#      assertions, installs it into Debian's PostgreSQL 15;
#   3. runs, as the postgres user:
#      a. pg_regress: test/sql vs test/expected, on the Makefile's own temp
#         instance (REGRESS_OPTS: no shared_preload_libraries, so the SQL
#         surface is tested without the worker);
#      b. pgTAP: every test/pgtap/*.sql through pg_prove, each in a fresh
#         database (made from a template with pgtap and slo_guard created) of
#         a throwaway cluster that preloads slo_guard with the worker off;
#      c. Perl TAP: every test/t/*.pl through prove, with the environment
#         PGXS's prove_installcheck sets (PostgreSQL::Test::Cluster makes its
#         own clusters);
#      d. the Debian package: scripts/package-test.sh builds it (and the 1.0
#         one), installs it into a throwaway root, upgrades 1.0 -> current.
# Each regression test, pgTAP file and TAP file counts as one test. The last
# line is always `N passed, N failed`; the exit status is non-zero if anything
# failed or nothing ran.
#
# Environment: SLO_TEST_BUDGET (seconds, default 1500) bounds the whole run;
# files not started by then count as failed. KEEP_TMP=1 keeps the work dir.
# SLO_TEST_ONLY='regex' runs only the tests whose name matches (extended regex
# against "regress/NAME", "test/pgtap/F.sql", "test/t/F.pl"), for development.
# PG_CONFIG=... picks the PostgreSQL installation to build and test against.
set -uo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# Every cluster the tests make is UTF-8, whatever the caller's environment (CI
# runs with no LANG at all, which made initdb pick SQL_ASCII): C.UTF-8 ships
# with Debian's libc. (pg_regress also gets --encoding=UTF8, see Makefile.)
export LANG=C.UTF-8 LC_ALL=C.UTF-8
unset LANGUAGE

BUDGET=${SLO_TEST_BUDGET:-1500}
START=$SECONDS
PASSED=0
FAILED=0
FAILURES=()
WORK=
PGTAP_DATA=
DONE=0

pass() {
	PASSED=$((PASSED + 1))
	printf '    ok      %s%s\n' "$1" "${2:+ ($2)}"
}
fail() {
	FAILED=$((FAILED + 1))
	FAILURES+=("$1")
	printf '    FAILED  %s%s\n' "$1" "${2:+ ($2)}"
}
# Print the last N lines of a file, indented, under a heading.
show_tail() {
	local n=$1 f=$2
	[[ -s "$f" ]] || return 0
	echo "---- ${f#"$WORK"/} (last $n lines) ----"
	tail -n "$n" "$f" | sed 's/^/    /'
}
elapsed() { echo $((SECONDS - START)); }
# A timeout for the next step: what is left of the budget, capped at $1,
# never under 10 s (timeout 0 would mean none).
tmo() {
	local t
	t=$(time_left "$1")
	((t < 10)) && t=10
	echo "$t"
}
# Seconds left in the budget, capped at $1.
time_left() {
	local left=$((BUDGET - (SECONDS - START)))
	((left > $1)) && left=$1
	echo "$left"
}

cleanup() {
	((DONE)) && return
	DONE=1
	[[ -n "$PGTAP_DATA" ]] && sg_cluster_stop "$PGTAP_DATA"
	# Whatever a timed-out pg_regress or TAP test left running.
	[[ -n "$WORK" ]] && sg_stop_all_under "$WORK"
	if [[ -n "$WORK" && -d "$WORK" ]]; then
		if [[ "${KEEP_TMP:-0}" == 1 ]]; then
			echo "==> kept work dir $WORK"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# The closing line: nothing may print after it.
finish() {
	cleanup
	echo
	if ((${#FAILURES[@]})); then
		echo "failed:"
		printf '  %s\n' "${FAILURES[@]}"
	fi
	if ((PASSED + FAILED == 0)); then
		echo "no test ran: that is a failure"
	fi
	echo "time: $(elapsed)s"
	echo "$PASSED passed, $FAILED failed"
	if ((FAILED > 0 || PASSED == 0)); then exit 1; fi
	exit 0
}

# -------------------------------------------------------------- 1. packages
sg_say "dependencies"
if ! bash "$SG_ROOT/scripts/install-deps.sh"; then
	fail "install-deps" "could not install the Debian packages"
	finish
fi

# ------------------------------------------------------------ 2. copy, find
WORK=$(sg_mktemp slo_guard_test) || {
	fail "setup" "mktemp"
	finish
}
SRC=$WORK/src
if ! sg_copy_tree "$SRC"; then
	fail "setup" "could not copy the tree to $SRC"
	finish
fi
cd "$WORK" || exit 1

# The regression tests exactly as the Makefile lists them (REGRESS).
REGRESS_TESTS=()
if [[ -d "$SRC/test/sql" ]]; then
	# shellcheck disable=SC2016 # $(REGRESS) is for make, not the shell
	read -r -a REGRESS_TESTS < <(
		cd "$SRC" && make -s --no-print-directory PG_CONFIG="$PG_CONFIG" \
			-f Makefile -f <(printf 'sg-print-regress:\n\t@echo $(REGRESS)\n') \
			sg-print-regress 2>/dev/null
	)
fi
PGTAP_TESTS=()
TAP_TESTS=()
shopt -s nullglob
for f in "$SRC"/test/pgtap/*.sql; do PGTAP_TESTS+=("${f#"$SRC"/}"); done
for f in "$SRC"/test/t/*.pl; do TAP_TESTS+=("${f#"$SRC"/}"); done
shopt -u nullglob
if [[ -n "${SLO_TEST_ONLY:-}" ]]; then
	# keep PREFIX NAME...: the names whose PREFIXNAME matches SLO_TEST_ONLY
	keep() {
		local p=$1 t
		shift
		for t in "$@"; do [[ "$p$t" =~ $SLO_TEST_ONLY ]] && echo "$t"; done
		return 0
	}
	mapfile -t REGRESS_TESTS < <(keep regress/ "${REGRESS_TESTS[@]}")
	mapfile -t PGTAP_TESTS < <(keep '' "${PGTAP_TESTS[@]}")
	mapfile -t TAP_TESTS < <(keep '' "${TAP_TESTS[@]}")
	sg_say "SLO_TEST_ONLY='$SLO_TEST_ONLY'"
fi
sg_say "found ${#REGRESS_TESTS[@]} regression, ${#PGTAP_TESTS[@]} pgTAP, ${#TAP_TESTS[@]} Perl TAP test files"

# Everything counted as failed when the module cannot be built at all.
fail_everything() {
	local why=$1 t
	for t in "${REGRESS_TESTS[@]}"; do fail "regress/$t" "$why"; done
	for t in "${PGTAP_TESTS[@]}" "${TAP_TESTS[@]}"; do fail "$t" "$why"; done
	((PASSED + FAILED == 0)) && fail "build" "$why"
}

# ----------------------------------------------------------- 3. build, load
# Assertions on (as pgvector's CI does) when the module built that way still
# loads into Debian's server, which is built without them: PostgreSQL keeps
# ExceptionalCondition() in non-assert builds for exactly this, but a module
# that calls an assert-only function (AssertCouldGetRelation and friends)
# would fail to load with an undefined symbol. That is decided by loading it
# for real (the pgTAP cluster below preloads it); if it does not load, the
# module is rebuilt without assertions and the reason is printed.
# (PostgreSQL 15's own headers are not -Wextra clean without assertions:
# ilist.h and bufpage.h use some parameters only in Assert()s. The Makefile
# includes them with -isystem, so -Werror judges only slo_guard's code.)
WFLAGS='-Wall -Wextra -Werror'
# Test builds carry the test-only check kinds (src/kinds/test_async.c).
WFLAGS="$WFLAGS -DSLO_TEST_KINDS"
# scripts/sanitize.sh adds its -fsanitize flags here (issue 15).
WFLAGS="$WFLAGS${SLO_EXTRA_CFLAGS:+ $SLO_EXTRA_CFLAGS}"
ASSERT_FLAGS="$WFLAGS -DUSE_ASSERT_CHECKING"
BUILD_LOG=$WORK/build.log
BUILT_FLAGS=

build_and_install() {
	sg_say "build: make PG_CFLAGS='$1'"
	if ! sg_build "$SRC" "$BUILD_LOG" "$1"; then
		grep -E 'error|warning' "$BUILD_LOG" | head -n 40 | sed 's/^/    /'
		show_tail 30 "$BUILD_LOG"
		return 1
	fi
	if ! sg_install "$SRC" "$BUILD_LOG"; then
		show_tail 30 "$BUILD_LOG"
		return 2
	fi
	BUILT_FLAGS=$1
	return 0
}

if ! build_and_install "$ASSERT_FLAGS"; then
	sg_warn "the build with assertions failed; trying without them"
	if ! build_and_install "$WFLAGS"; then
		fail_everything "build failed"
		finish
	fi
fi

# The throwaway cluster for pgTAP doubles as the load test.
PGTAP_PORT=$(sg_free_port)
PGTAP_DATA=$WORK/pgtap_data
PGTAP_LOG=$WORK/pgtap_server.log
PGTAP_READY=0
if sg_cluster_init "$PGTAP_DATA" "$PGTAP_PORT" \
	"shared_preload_libraries = 'slo_guard'" \
	"slo_guard.enabled = off"; then
	if sg_cluster_start "$PGTAP_DATA" "$PGTAP_LOG"; then
		PGTAP_READY=1
	elif sg_load_failed "$PGTAP_LOG" && [[ "$BUILT_FLAGS" == "$ASSERT_FLAGS" ]]; then
		sg_warn "the module built with -DUSE_ASSERT_CHECKING does not load into Debian's (non-assert) server:"
		grep -E 'could not load|undefined symbol|incompatible' "$PGTAP_LOG" | head -n 5 | sed 's/^/    /'
		sg_warn "rebuilding without assertions"
		if ! build_and_install "$WFLAGS"; then
			fail_everything "build without assertions failed"
			finish
		fi
		: >"$PGTAP_LOG"
		sg_cluster_start "$PGTAP_DATA" "$PGTAP_LOG" && PGTAP_READY=1
	fi
fi
if ((PGTAP_READY)); then
	sg_say "built with PG_CFLAGS='$BUILT_FLAGS'; the server loaded it (shared_preload_libraries)"
else
	sg_warn "the throwaway cluster with shared_preload_libraries='slo_guard' did not start"
	show_tail 30 "$PGTAP_LOG"
fi

# ----------------------------------------------------------- 4a. pg_regress
if ((${#REGRESS_TESTS[@]})); then
	sg_say "pg_regress (make installcheck, temp instance): ${#REGRESS_TESTS[@]} tests"
	REGRESS_OUT=$WORK/regress.out
	(
		cd "$SRC" &&
			sg_as_pg timeout "$(tmo 420)" make PG_CONFIG="$PG_CONFIG" installcheck TAP_TESTS= REGRESS="${REGRESS_TESTS[*]}"
	) >"$REGRESS_OUT" 2>&1
	regress_rc=$?
	for t in "${REGRESS_TESTS[@]}"; do
		# PG 15 prints "test NAME ... ok 12 ms", or "     NAME ... ok" in a
		# parallel group; anything else (FAILED, missing: crash) fails.
		if grep -qE "^[[:space:]]*(test[[:space:]]+)?${t}[[:space:]]+\.\.\.[[:space:]]+ok([[:space:]]|$)" "$REGRESS_OUT"; then
			pass "regress/$t"
		else
			fail "regress/$t"
		fi
	done
	if ((regress_rc != 0)); then
		sed -n '/=====/,$p' "$REGRESS_OUT" | tail -n 40 | sed 's/^/    /'
		[[ -s "$SRC/test/regression.diffs" ]] && show_tail 300 "$SRC/test/regression.diffs"
		# The temp instance's logs only when it did not start or crashed.
		if ! grep -q '===.*running regression' "$REGRESS_OUT"; then
			show_tail 40 "$REGRESS_OUT"
			show_tail 30 "$SRC/test/log/initdb.log"
			show_tail 30 "$SRC/test/log/postmaster.log"
		elif grep -qE 'terminated by signal|TRAP:|PANIC|could not load' "$SRC/test/log/postmaster.log" 2>/dev/null; then
			show_tail 40 "$SRC/test/log/postmaster.log"
		fi
	fi
else
	sg_say "pg_regress: no tests in test/sql"
fi

# ---------------------------------------------------------------- 4b. pgTAP
psql_pgtap() {
	sg_as_pg "$PG_BINDIR/psql" -X -q -v ON_ERROR_STOP=1 -h 127.0.0.1 \
		-p "$PGTAP_PORT" -U postgres "$@"
}
if ((${#PGTAP_TESTS[@]})); then
	sg_say "pgTAP (pg_prove, cluster on 127.0.0.1:$PGTAP_PORT, slo_guard preloaded, worker off): ${#PGTAP_TESTS[@]} files"
	TEMPLATE_ERR=$WORK/pgtap_template.err
	if ((!PGTAP_READY)); then
		for t in "${PGTAP_TESTS[@]}"; do fail "$t" "cluster did not start"; done
	elif ! psql_pgtap -d postgres >"$TEMPLATE_ERR" 2>&1 <<-'SQL'; then
		CREATE DATABASE slo_tap_template;
		\c slo_tap_template
		CREATE EXTENSION pgtap;
		CREATE EXTENSION slo_guard;
	SQL
		cat "$TEMPLATE_ERR"
		for t in "${PGTAP_TESTS[@]}"; do fail "$t" "could not create the extensions"; done
	else
		i=0
		for t in "${PGTAP_TESTS[@]}"; do
			i=$((i + 1))
			if (($(time_left 120) <= 0)); then
				fail "$t" "not run: time budget spent"
				continue
			fi
			db=slo_tap_$i
			out=$WORK/pgtap_$i.out
			if ! psql_pgtap -d postgres -c "CREATE DATABASE $db TEMPLATE slo_tap_template" >"$out" 2>&1; then
				cat "$out"
				fail "$t" "could not create its database"
				continue
			fi
			if (cd "$SRC" && sg_as_pg timeout "$(tmo 120)" pg_prove \
				--psql-bin "$PG_BINDIR/psql" -h 127.0.0.1 -p "$PGTAP_PORT" \
				-U postgres -d "$db" --verbose "$t") >"$out" 2>&1; then
				pass "$t"
			else
				fail "$t"
				grep -vE '^ok [0-9]' "$out" | tail -n 60 | sed 's/^/    /'
			fi
		done
	fi
	if ((FAILED)) && grep -qE 'TRAP|terminated by signal|PANIC' "$PGTAP_LOG"; then
		show_tail 40 "$PGTAP_LOG"
	fi
else
	sg_say "pgTAP: no tests in test/pgtap"
fi
sg_cluster_stop "$PGTAP_DATA"

# ------------------------------------------------------------ 4c. Perl TAP
if ((${#TAP_TESTS[@]})); then
	sg_say "Perl TAP (prove, PostgreSQL::Test::Cluster): ${#TAP_TESTS[@]} files"
	PGXS_DIR=$(dirname "$(dirname "$("$PG_CONFIG" --pgxs)")")
	rm -rf "$SRC/tmp_check"
	for t in "${TAP_TESTS[@]}"; do
		if (($(time_left 300) <= 0)); then
			fail "$t" "not run: time budget spent"
			continue
		fi
		name=$(basename "$t" .pl)
		out=$WORK/tap_$name.out
		t0=$SECONDS
		# The environment of PGXS's prove_installcheck, one file at a time.
		if (cd "$SRC" && sg_as_pg env TESTDIR="$SRC" PGPORT=65432 \
			PG_REGRESS="$PGXS_DIR/test/regress/pg_regress" \
			timeout "$(tmo 300)" prove -I "$PGXS_DIR/test/perl/" -I . \
			--verbose "$t") >"$out" 2>&1; then
			pass "$t" "$((SECONDS - t0)) s"
		else
			fail "$t" "$((SECONDS - t0)) s"
			grep -vE '^ok [0-9]' "$out" | tail -n 60 | sed 's/^/    /'
			show_tail 60 "$SRC/tmp_check/log/regress_log_$name"
			for f in "$SRC/tmp_check/log/${name}"_*.log; do
				[[ -f "$f" ]] && show_tail 30 "$f"
			done
		fi
	done
else
	sg_say "Perl TAP: no tests in test/t"
fi

# --------------------------------------------------------- 4d. package
if [[ -z "${SLO_TEST_ONLY:-}" || "package" =~ $SLO_TEST_ONLY ]]; then
	sg_say "Debian package (scripts/package-test.sh)"
	if (($(time_left 240) <= 0)); then
		fail "package" "not run: time budget spent"
	elif timeout "$(tmo 240)" bash "$SG_ROOT/scripts/package-test.sh" >"$WORK/package.out" 2>&1; then
		pass "package"
	else
		fail "package"
		tail -n 40 "$WORK/package.out" | sed 's/^/    /'
	fi
fi

finish
