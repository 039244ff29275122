#!/usr/bin/env bash
# Benchmark: fault-to-NOTIFY latency with the background worker, alone and
# beside a slow check (issue 9's figure).
#
# Usage (as root, from anywhere):  bash bench/notify_latency.sh
#   BENCH_FAULTS=50       faults per scenario (median and p95 over them)
#   BENCH_SLOW_S=4        seconds the slow check takes (every second)
#   BENCH_NAPTIME=200ms   slo_guard.naptime
#   BENCH_SKIP_BUILD=1    use the installed extension as it is
#
# A throwaway cluster with slo_guard preloaded serves database postgres. A P0
# table_exists check on table `victim` runs every second. bench/fault_latency.c
# (built here against libpq) LISTENs, drops `victim` (autocommit) and measures
# on its own clock how long the "firing" NOTIFY takes; then re-creates it and
# waits for "resolved"; BENCH_FAULTS times. Scenario 1: that check alone.
# Scenario 2: the same beside an `sql` check that sleeps BENCH_SLOW_S seconds
# and is due every second. Prints both and a RESULT line.
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

FAULTS=${BENCH_FAULTS:-50}
SLOW_S=${BENCH_SLOW_S:-4}
NAPTIME=${BENCH_NAPTIME:-200ms}

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"
bench_say "dependencies"
bench_deps
if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (private copy of the tree)"
	bench_build
fi
bench_tmp
LAT=$BENCH_TMP/fault_latency
gcc -O2 -Wall -o "$LAT" "$BENCH_DIR/fault_latency.c" -I"$("$PG_CONFIG" --includedir)" \
	-L"$("$PG_CONFIG" --libdir)" -lpq || bench_die "could not build bench/fault_latency.c (libpq-dev)"

bench_say "starting a throwaway cluster (slo_guard preloaded, naptime $NAPTIME)"
bench_reinstall
bench_cluster_start "shared_preload_libraries = 'slo_guard'" "slo_guard.database = 'postgres'" \
	"slo_guard.naptime = '$NAPTIME'" "slo_guard.check_timeout = '$((SLOW_S + 5))s'"
bench_psql -c 'CREATE EXTENSION slo_guard' -c 'CREATE TABLE victim ()' \
	-c "SELECT slo_add_check('p0_victim', 'table_exists', '{\"tables\": [\"victim\"]}', severity => 'P0', every => '1 second')" \
	>/dev/null
CONNINFO="host=$BENCH_SOCK port=$BENCH_PORT user=postgres dbname=postgres"

# run_scenario NAME: BENCH_FAULTS faults; prints the fault_latency lines; sets RES_<NAME>.
run_scenario() {
	local name=$1 out
	out=$BENCH_TMP/$name.out
	bench_say "scenario $name: $FAULTS faults"
	bench_as_pg "$LAT" "$CONNINFO" "$FAULTS" 'DROP TABLE IF EXISTS victim' \
		'CREATE TABLE IF NOT EXISTS victim ()' p0_victim >"$out" || true
	grep -E '^fault [0-9]+:' "$out" | tr '\n' ' ' | fold -w 120 | sed 's/^/    /'
	echo
	grep '^RESULT' "$out" | sed 's/^RESULT //'
	printf -v "RES_$name" '%s' "$(grep '^RESULT' "$out" | sed 's/^RESULT //')"
}

run_scenario alone
bench_psql -c "SELECT slo_add_check('slow_one', 'sql', '{\"query\": \"SELECT 1 FROM pg_sleep($SLOW_S)\", \"fail_above\": 10}', every => '1 second')" >/dev/null
sleep 2
run_scenario beside_slow

med() { sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p' <<<"$1"; }
p95() { sed -n 's/.*p95_ms=\([0-9.]*\).*/\1/p' <<<"$1"; }
echo
# Before issue 9's run model (one transaction per pass; bench/README.md), 4 s check.
printf '%-34s %12s %12s %22s\n' "fault -> firing NOTIFY" "median ms" "p95 ms" "before: median / p95"
printf '%-34s %12s %12s %22s\n' "P0 check alone" "$(med "$RES_alone")" "$(p95 "$RES_alone")" "455 / 981"
printf '%-34s %12s %12s %22s\n' "beside a ${SLOW_S} s check (every 1 s)" "$(med "$RES_beside_slow")" "$(p95 "$RES_beside_slow")" "7472 / 8008"
echo "RESULT notify_latency alone_median_ms=$(med "$RES_alone") alone_p95_ms=$(p95 "$RES_alone") slow_median_ms=$(med "$RES_beside_slow") slow_p95_ms=$(p95 "$RES_beside_slow")"
