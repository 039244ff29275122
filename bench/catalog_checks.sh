#!/usr/bin/env bash
# Benchmark: a full slo_run_checks(false) pass over 1,000 catalog checks
# (table_exists, columns_exist, function_exists), against check_postgres doing
# the same existence checks one process per check, as Nagios/Icinga would.
#
# Usage (as root, from anywhere):  bash bench/catalog_checks.sh
#   BENCH_CHECKS=1000     checks to register
#   BENCH_TABLES=200      tables in the app schema
#   BENCH_WARMUP=2        untimed passes first
#   BENCH_PASSES=10       timed passes (median and min reported)
#   BENCH_CP_SAMPLE=50    checks timed through check_postgres
#   BENCH_SKIP_BUILD=1    use the installed extension as it is
#   BENCH_STRICT=1        exit 1 when a target of issue 3 is missed
#
# It builds and installs the extension (make -s && make -s install at the root
# of a private copy of the tree, so that concurrent work in the checkout cannot
# change the code under test; the C functions are pinned to that build), starts
# its own throwaway cluster as postgres (default settings, fsync on, unix
# socket only, in a mktemp directory removed on exit), and prints a table of
# figures at the end, plus one "RESULT ..." line that bench/run.sh collects.
#
# What is timed:
#   slo_guard: each pass is `SELECT count(*) FROM slo_run_checks(false)` sent
#     in one already-open session (autocommit, so the pass includes writing
#     its 1,000 results and state rows and its commit), timed by the server's
#     clock_timestamp() between the statements before and after it: the cost
#     of the pass without connection set-up.
#   check_postgres: wall time of `check_postgres --action=custom_query` per
#     check (perl start, psql --version, connection, query), one process per
#     check, run sequentially over the socket. PGBINDIR points it at
#     PostgreSQL 15's psql directly, skipping Debian's pg_wrapper: its best case.
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

NCHECKS=${BENCH_CHECKS:-1000}
NTABLES=${BENCH_TABLES:-200}
WARMUP=${BENCH_WARMUP:-2}
PASSES=${BENCH_PASSES:-10}
CP_SAMPLE=${BENCH_CP_SAMPLE:-50}
TARGET_PASS_MS=100
TARGET_RATIO=500

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"

bench_say "dependencies"
bench_deps
CHECK_POSTGRES=$(command -v check_postgres || command -v check_postgres.pl ||
	dpkg -L check-postgres 2>/dev/null | grep -E '/bin/check_postgres(\.pl)?$' | head -n 1 || true)
[[ -n "$CHECK_POSTGRES" && -x "$CHECK_POSTGRES" ]] || bench_die "check_postgres not found (package check-postgres)"

if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (make -s && make -s install, private copy of the tree)"
	bench_build
fi

bench_say "starting a throwaway cluster"
# shellcheck disable=SC2119 # no extra settings
bench_cluster_start
bench_create_extension slo_add_check slo_run_checks
if [[ -n "${BENCH_SO:-}" ]]; then
	BUILD_NOTE="slo_guard built here with the server's CFLAGS ($("$PG_CONFIG" --cflags | grep -o -- '-O[0-9s]' | head -n 1)), functions pinned to it"
else
	BUILD_NOTE="slo_guard as installed (BENCH_SKIP_BUILD=1)"
fi

bench_say "registering $NCHECKS catalog checks over $NTABLES tables"
bench_psql -v nchecks="$NCHECKS" -v ntables="$NTABLES" -v sample="$CP_SAMPLE" \
	<"$BENCH_DIR/catalog_checks.sql" >/dev/null
read -r n_reg n_tab n_col n_fun n_fail < <(bench_psql -AtF' ' -c "
	SELECT count(*), count(*) FILTER (WHERE d.kind = 'table_exists'),
	       count(*) FILTER (WHERE d.kind = 'columns_exist'),
	       count(*) FILTER (WHERE d.kind = 'function_exists'), count(*) FILTER (WHERE d.failing)
	  FROM bench_def d JOIN slo_check c USING (name)")
((n_reg == NCHECKS)) || bench_die "registered $n_reg checks, expected $NCHECKS"

# ---- slo_guard: full passes in one session ----
bench_say "slo_guard: $WARMUP warm-up + $PASSES timed passes of slo_run_checks(false)"
{
	echo "CREATE TEMP TABLE bench_timing (pass int, warm boolean, ms float8, n bigint);"
	for ((p = 1; p <= WARMUP + PASSES; p++)); do
		warm=false
		((p <= WARMUP)) && warm=true
		echo "SELECT clock_timestamp() AS t0 \\gset"
		echo "SELECT count(*) AS n FROM slo_run_checks(false) \\gset"
		echo "INSERT INTO bench_timing VALUES ($p, $warm, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, :n);"
	done
	echo "SELECT pass, warm, round(ms::numeric, 3), n FROM bench_timing ORDER BY pass;"
} >"$BENCH_TMP/passes.sql"

load_sg=$(cut -d' ' -f1 /proc/loadavg)
bench_psql -AtF" " <"$BENCH_TMP/passes.sql" >"$BENCH_TMP/passes.out"
timed=()
while read -r pass warm ms n; do
	((n == NCHECKS)) || bench_die "pass $pass returned $n results, expected $NCHECKS"
	printf '    pass %2d%s %9.3f ms\n' "$pass" "$([[ $warm == t ]] && echo ' (warm-up)' || echo '          ')" "$ms"
	[[ $warm == t ]] || timed+=("$ms")
done <"$BENCH_TMP/passes.out"
read -r sg_pass_med sg_pass_min < <(printf '%s\n' "${timed[@]}" | bench_median_min)

# The pass did what it should: every failing check fails and has its alert.
read -r st_ok st_fail st_other firing < <(bench_psql -AtF' ' -c "
	SELECT count(*) FILTER (WHERE s.status = 'ok'), count(*) FILTER (WHERE s.status = 'fail'),
	       count(*) FILTER (WHERE s.status NOT IN ('ok', 'fail')),
	       (SELECT count(*) FROM slo_alert WHERE state = 'firing')
	  FROM slo_check c JOIN slo_check_state s ON s.check_id = c.id")
((st_fail == n_fail && st_other == 0 && firing == n_fail)) ||
	bench_die "after the passes: $st_ok ok, $st_fail fail, $st_other other, $firing firing; expected $n_fail failing and firing"

# ---- check_postgres: one process per check on the sample ----
bench_psql -AtF$'\t' -c "
	SELECT d.i, d.failing::int, s.status, d.cp_query
	  FROM bench_def d JOIN slo_check c USING (name) JOIN slo_check_state s ON s.check_id = c.id
	 WHERE d.sampled ORDER BY d.i" >"$BENCH_TMP/sample.tsv"
n_sample=$(wc -l <"$BENCH_TMP/sample.tsv")
((n_sample > 0)) || bench_die "empty check_postgres sample"
n_sample_fail=$(awk -F'\t' '$2 == 1' "$BENCH_TMP/sample.tsv" | wc -l)
bench_say "check_postgres: $n_sample checks ($n_sample_fail failing), one process each"

cp_run() { # cp_run QUERY: check_postgres for one existence check; exit 0 ok, 2 critical
	PGBINDIR=$PG_BINDIR "$CHECK_POSTGRES" --action=custom_query --valtype=integer --critical=1 \
		--host="$BENCH_SOCK" --port="$BENCH_PORT" --dbuser=postgres --dbname=postgres \
		--query="$1"
}
# warm-up: perl, psql and the page cache
for ((w = 0; w < 3; w++)); do
	cp_run "$(head -n 1 "$BENCH_TMP/sample.tsv" | cut -f4)" >/dev/null 2>&1 || true
done
cp_times=()
disagree=0
load_cp=$(cut -d' ' -f1 /proc/loadavg)
cp_t0=$EPOCHREALTIME
while IFS=$'\t' read -r i failing sg_status query; do
	t0=$EPOCHREALTIME
	rc=0
	cp_run "$query" >"$BENCH_TMP/cp.out" 2>&1 || rc=$?
	t1=$EPOCHREALTIME
	cp_times+=("$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')")
	want=0
	((failing)) && want=2
	if ((rc != want)) || [[ "$sg_status" != "$([[ $want == 2 ]] && echo fail || echo ok)" ]]; then
		echo "    check cat_$i: check_postgres exit $rc, slo_guard $sg_status, expected $([[ $want == 2 ]] && echo fail || echo ok):" >&2
		sed 's/^/      /' "$BENCH_TMP/cp.out" >&2
		disagree=$((disagree + 1))
	fi
	[[ -n "${cp_example_ok:-}" || $rc != 0 ]] || cp_example_ok=$(head -n 1 "$BENCH_TMP/cp.out")
	[[ -n "${cp_example_fail:-}" || $rc != 2 ]] || cp_example_fail=$(head -n 1 "$BENCH_TMP/cp.out")
done <"$BENCH_TMP/sample.tsv"
cp_t1=$EPOCHREALTIME
((disagree == 0)) || bench_die "$disagree of $n_sample sampled checks: check_postgres and slo_guard disagree"
cp_total_ms=$(awk -v a="$cp_t0" -v b="$cp_t1" 'BEGIN { printf "%.3f", (b - a) * 1000 }')
read -r cp_med cp_min < <(printf '%s\n' "${cp_times[@]}" | bench_median_min)
echo "    e.g. ok:   ${cp_example_ok:-}"
echo "    e.g. fail: ${cp_example_fail:-}"

# ---- figures ----
awk -v nchecks="$NCHECKS" -v passes="${#timed[@]}" -v warmup="$WARMUP" \
	-v pass_med="$sg_pass_med" -v pass_min="$sg_pass_min" \
	-v cp_n="$n_sample" -v cp_total="$cp_total_ms" -v cp_med="$cp_med" -v cp_min="$cp_min" \
	-v t_pass="$TARGET_PASS_MS" -v t_ratio="$TARGET_RATIO" \
	-v mix="$n_tab table_exists, $n_col columns_exist, $n_fun function_exists; $n_fail failing, $firing alerts firing" \
	-v pg="$(bench_psql -Atc 'SHOW server_version')" \
	-v cpu="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
	-v cpver="$("$CHECK_POSTGRES" --version 2>/dev/null | head -n 1)" \
	-v build_note="$BUILD_NOTE" -v load_sg="$load_sg" -v load_cp="$load_cp" '
BEGIN {
	sg_us = pass_med * 1000 / nchecks          # µs per check, median pass
	sg_us_min = pass_min * 1000 / nchecks
	cp_ms = cp_total / cp_n                    # ms per check, mean over the sample
	ratio = cp_ms * 1000 / sg_us
	print ""
	print "slo_guard catalog checks benchmark"
	printf "  PostgreSQL %s, %s\n", pg, cpu
	printf "  %s\n", build_note
	printf "  %d checks (%s)\n", nchecks, mix
	printf "  %s; %d sampled checks, one process each\n", cpver, cp_n
	printf "  load average (1 min) before the slo_guard passes: %s, before check_postgres: %s\n", load_sg, load_cp
	print ""
	printf "  %-44s %12s %14s\n", "", "median", "min"
	printf "  %-44s %9.2f ms %11.2f ms\n", "slo_guard: one pass of " nchecks " checks", pass_med, pass_min
	printf "  %-44s %9.2f µs %11.2f µs\n", "slo_guard: per check", sg_us, sg_us_min
	printf "  %-44s %9.2f ms %11.2f ms   (mean %.2f ms)\n", "check_postgres: per check", cp_med, cp_min, cp_ms
	printf "  %-44s %9.0fx\n", "ratio check_postgres / slo_guard per check", ratio
	print ""
	printf "  (slo_guard: %d timed passes after %d warm-up; ratio = check_postgres mean / slo_guard median)\n", passes, warmup
	printf "  target: pass of %d checks < %d ms: %s (%.2f ms)\n", nchecks, t_pass, (pass_med < t_pass ? "met" : "MISSED"), pass_med
	printf "  target: >= %dx less time per check than check_postgres: %s (%.0fx)\n", t_ratio, (ratio >= t_ratio ? "met" : "MISSED"), ratio
	print ""
	printf "RESULT catalog_checks pass_ms=%.2f pass_min_ms=%.2f us_per_check=%.2f check_postgres_ms_per_check=%.2f ratio=%.0f\n", pass_med, pass_min, sg_us, cp_ms, ratio
	exit !(pass_med < t_pass && ratio >= t_ratio)
}' && met=1 || met=0

if ((!met)) && [[ "${BENCH_STRICT:-}" == 1 ]]; then
	exit 1
fi
exit 0
