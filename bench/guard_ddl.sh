#!/usr/bin/env bash
# Benchmark: what guards (issue 14) cost DDL, and how soon a breaking migration pages.
#
# Usage (as root, from anywhere):  bash bench/guard_ddl.sh
#   BENCH_PAIRS=1000     CREATE TABLE / DROP TABLE pairs per run (unrelated tables)
#   BENCH_GUARDS=100     guarded checks installed for the "guards" runs
#   BENCH_ROUNDS=3       runs per setting (the median is reported)
#   BENCH_FAULTS=50      migrations for the COMMIT -> NOTIFY latency
#   BENCH_SKIP_BUILD=1   use the installed extension as it is
#
# 1. DDL overhead: pgbench runs BENCH_PAIRS times "CREATE TABLE bench_ddl_t (id int);
#    DROP TABLE bench_ddl_t" (each statement its own transaction, as a migration
#    tool in autocommit does), on a throwaway cluster with slo_guard installed and
#    (a) no guarded check, (b) BENCH_GUARDS guarded checks (table_exists,
#    columns_exist and function_exists, "guard": true, on other tables and
#    functions). Overhead per DDL command = (pair latency b - pair latency a) / 2.
#    For reference, (c) without the extension (no event trigger at all).
# 2. COMMIT -> NOTIFY: bench/fault_latency.c LISTENs on one connection and, on
#    another, drops a guarded table in autocommit (the migration's COMMIT is done
#    when PQexec returns) and times the firing NOTIFY on its own clock; the repair
#    (CREATE TABLE) resolves it the same way. The worker is off: only the guard pages.
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

PAIRS=${BENCH_PAIRS:-1000}
GUARDS=${BENCH_GUARDS:-100}
ROUNDS=${BENCH_ROUNDS:-3}
FAULTS=${BENCH_FAULTS:-50}

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

bench_say "starting a throwaway cluster (slo_guard preloaded, worker off)"
bench_reinstall
bench_cluster_start "shared_preload_libraries = 'slo_guard'" "slo_guard.enabled = off"

printf 'CREATE TABLE bench_ddl_t (id int);\nDROP TABLE bench_ddl_t;\n' |
	bench_as_pg tee "$BENCH_TMP/ddl.sql" >/dev/null

# pair_latency: median over ROUNDS of pgbench's average latency (ms) of one pair.
pair_latency() {
	local r lat all=()
	for ((r = 0; r < ROUNDS; r++)); do
		lat=$(bench_as_pg "$PG_BINDIR/pgbench" -n -M simple -c 1 -t "$PAIRS" -f "$BENCH_TMP/ddl.sql" \
			-h "$BENCH_SOCK" -p "$BENCH_PORT" -U postgres postgres 2>/dev/null |
			sed -n 's/^latency average = \([0-9.]*\) ms/\1/p')
		[[ -n "$lat" ]] || bench_die "pgbench failed"
		all+=("$lat")
	done
	printf '%s\n' "${all[@]}" | sort -n | sed -n "$(((ROUNDS + 1) / 2))p"
}

bench_say "(c) no extension: $ROUNDS x $PAIRS pairs"
LAT_NOEXT=$(pair_latency)

# preloaded (the event trigger's library is the one shared_preload_libraries loaded), so
# plain CREATE EXTENSION from the build just installed, as bench/notify_latency.sh does
bench_reinstall
bench_psql -c 'CREATE EXTENSION slo_guard' >/dev/null
bench_psql -c "CREATE TABLE victim (id int, consent bool)" \
	-c "CREATE FUNCTION victim_fn() RETURNS int LANGUAGE sql AS 'SELECT 1'" >/dev/null
bench_say "(a) slo_guard, no guarded check: $ROUNDS x $PAIRS pairs"
LAT_NONE=$(pair_latency)

bench_psql >/dev/null <<SQL
DO \$\$
BEGIN
  FOR i IN 1..$GUARDS LOOP
    EXECUTE format('CREATE TABLE IF NOT EXISTS watched_%s (id int, consent bool)', i % 50);
    CASE i % 3
      WHEN 0 THEN PERFORM slo_add_check('g' || i, 'table_exists',
                    jsonb_build_object('tables', jsonb_build_array('watched_' || (i % 50), 'victim'), 'guard', true),
                    every => '1 hour');
      WHEN 1 THEN PERFORM slo_add_check('g' || i, 'columns_exist',
                    jsonb_build_object('table', 'watched_' || (i % 50), 'columns', jsonb_build_array('consent'), 'guard', true),
                    every => '1 hour');
      ELSE PERFORM slo_add_check('g' || i, 'function_exists',
                    jsonb_build_object('functions', jsonb_build_array('victim_fn', 'watched_fn_' || i), 'guard', true),
                    every => '1 hour');
    END CASE;
  END LOOP;
END
\$\$;
SQL
bench_say "(b) slo_guard, $GUARDS guarded checks ($(bench_psql -Atc 'SELECT count(*) FROM slo_guard_watch') watch rows): $ROUNDS x $PAIRS pairs"
LAT_GUARDS=$(pair_latency)
RUNS=$(bench_psql -Atc "SELECT count(*) FROM slo_result")
[[ "$RUNS" == 0 ]] || bench_die "unrelated DDL ran $RUNS checks"

bench_say "COMMIT -> NOTIFY: $FAULTS guarded DROP TABLE migrations"
bench_psql -c "SELECT slo_add_check('p0_victim', 'table_exists', '{\"tables\": [\"victim\"], \"guard\": true}', severity => 'P0', every => '1 hour')" >/dev/null
CONNINFO="host=$BENCH_SOCK port=$BENCH_PORT user=postgres dbname=postgres"
bench_as_pg "$LAT" "$CONNINFO" "$FAULTS" 'DROP TABLE IF EXISTS victim CASCADE' \
	'CREATE TABLE IF NOT EXISTS victim (id int, consent bool)' p0_victim >"$BENCH_TMP/lat.out" || true
RES_LAT=$(grep '^RESULT' "$BENCH_TMP/lat.out" | sed 's/^RESULT //')
[[ -n "$RES_LAT" ]] || {
	cat "$BENCH_TMP/lat.out" >&2
	bench_die "fault_latency failed"
}

per_cmd() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", (b - a) / 2 * 1000 }'; }
echo
printf '%-46s %14s\n' "CREATE TABLE + DROP TABLE pair" "latency ms"
printf '%-46s %14s\n' "no extension" "$LAT_NOEXT"
printf '%-46s %14s\n' "slo_guard, no guarded check" "$LAT_NONE"
printf '%-46s %14s\n' "slo_guard, $GUARDS guarded checks" "$LAT_GUARDS"
echo "overhead per DDL command: $(per_cmd "$LAT_NONE" "$LAT_GUARDS") us with $GUARDS guards vs none;" \
	"$(per_cmd "$LAT_NOEXT" "$LAT_NONE") us for the event trigger itself vs no extension"
echo "COMMIT -> firing NOTIFY at a listener: $RES_LAT"
echo "RESULT guard_ddl pair_ms_noext=$LAT_NOEXT pair_ms_none=$LAT_NONE pair_ms_guards=$LAT_GUARDS" \
	"overhead_us_per_ddl=$(per_cmd "$LAT_NONE" "$LAT_GUARDS") $(sed 's/faults=[0-9]* //; s/\([a-z0-9_]*\)=/notify_\1=/g' <<<"$RES_LAT")"
