#!/usr/bin/env bash
# Benchmark: table_growth over 10,000 tables, as one check of 10,000 tables and
# as 100 checks of 100 tables, with an empty history and with a week of it.
#
# Usage (as root, from anywhere):  bash bench/growth_10k.sh
#   BENCH_TABLES=10000        tables in the app schema (each with a primary key,
#                             so heap, TOAST, TOAST index and pkey are measured)
#   BENCH_SPLIT_CHECKS=100    checks in the second layout (tables split evenly)
#   BENCH_PASSES=5            timed passes of each kind (median and min reported)
#   BENCH_HISTORY_HOURS=168   synthetic history per table: one sample an hour
#                             for a week, what a check that ran a week stores
#   BENCH_SKIP_BUILD=1        use the installed extension as it is
#
# It builds the extension from a private copy of the tree, starts its own
# throwaway cluster as postgres (default settings, fsync on, unix socket only,
# removed on exit; bench/common.bash), and prints a table of figures and one
# "RESULT ..." line that bench/run.sh collects.
#
# What is timed, each pass being `SELECT count(*) FROM slo_run_checks(false)`
# in one open session, autocommit, by the server's clock_timestamp() around it:
#   measure only   SELECT sum(pg_total_relation_size(oid)) over the tables: the
#                  floor, what any size monitor pays (a stat() per file)
#   first pass     empty history: measures and stores one sample per table
#   steady pass    a sample younger than an hour exists: measure, fit, no write
#                  (what a check that runs every minute pays 59 times an hour)
#   store pass     with a week of history, the last sample an hour old: measure,
#                  fit over 168 samples a table, store, trim the expired day
#   week steady    with a week of history, no write
# Per table = pass / tables; per check = pass / checks.
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

NTABLES=${BENCH_TABLES:-10000}
NSPLIT=${BENCH_SPLIT_CHECKS:-100}
PASSES=${BENCH_PASSES:-5}
HOURS=${BENCH_HISTORY_HOURS:-168}

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"
((NTABLES % NSPLIT == 0)) || bench_die "BENCH_TABLES ($NTABLES) must be a multiple of BENCH_SPLIT_CHECKS ($NSPLIT)"

bench_say "dependencies"
bench_deps
if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (private copy of the tree)"
	bench_build
fi

bench_say "starting a throwaway cluster"
bench_cluster_start
bench_create_extension slo_add_check slo_run_checks

# ---- the tables ----
bench_say "creating $NTABLES tables (1 to 50 rows each)"
t0=$EPOCHREALTIME
bench_psql -v ntables="$NTABLES" <<'SQL'
SET synchronous_commit = off;
SET client_min_messages = warning;
CREATE SCHEMA app;
SELECT format('CREATE TABLE app.t%s (id bigint PRIMARY KEY, note text); '
              'INSERT INTO app.t%s SELECT g, ''note '' || g FROM generate_series(1, %s) g',
              i, i, 1 + i % 50)
  FROM generate_series(1, :ntables) i
\gexec
VACUUM ANALYZE;
SQL
bench_say "$(awk -v a="$t0" -v b="$EPOCHREALTIME" 'BEGIN { printf "created in %.0f s", b - a }')"

# time_passes LABEL N SQL: run SQL (one row, no semicolon) N times in one session;
# print one ms a line
time_passes() {
	local label=$1 n=$2 sql=$3 p
	{
		echo "CREATE TEMP TABLE bench_timing (pass int, ms float8);"
		for ((p = 1; p <= n; p++)); do
			echo "SELECT clock_timestamp() AS t0 \\gset"
			echo "$sql \\gset"
			echo "INSERT INTO bench_timing VALUES ($p, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);"
		done
		echo "SELECT round(ms::numeric, 3) FROM bench_timing ORDER BY pass;"
	} >"$BENCH_TMP/passes.sql"
	bench_psql -At <"$BENCH_TMP/passes.sql" >"$BENCH_TMP/passes.out"
	sed "s/^/    $label: /; s/$/ ms/" "$BENCH_TMP/passes.out" >&2
	cat "$BENCH_TMP/passes.out"
}

# median of the lines on stdin
median() { bench_median_min | cut -d' ' -f1; }

# synthesize HOURS samples an hour apart per table for every check, ending an
# hour ago (so the next pass stores), like a check that ran a week
synthesize_history() {
	bench_psql -v hours="$HOURS" <<'SQL'
SET synchronous_commit = off;
DELETE FROM slo_table_size;
WITH t AS MATERIALIZED (
    SELECT c.id AS check_id, n::regclass::oid AS relid, pg_total_relation_size(n::regclass) AS size
      FROM slo_check c, jsonb_array_elements_text(c.params->'tables') n
     WHERE c.kind = 'table_growth')
INSERT INTO slo_table_size (check_id, relid, at, bytes, row_estimate, daily)
SELECT t.check_id, t.relid, now() - h * interval '1 hour', greatest(t.size - h * 100, 0), 50,
       h % 24 = 12
  FROM t CROSS JOIN generate_series(1, :hours) h;
VACUUM ANALYZE slo_table_size;
SQL
}

# check_ok N: every check ok and N tables watched
check_ok() {
	local bad
	bad=$(bench_psql -Atc "SELECT count(*) FROM slo_check c JOIN slo_check_state s ON s.check_id = c.id
	                        WHERE c.kind = 'table_growth' AND s.status IS DISTINCT FROM 'ok'")
	((bad == 0)) || {
		bench_psql -c "SELECT c.name, s.status, s.summary FROM slo_check c
		               JOIN slo_check_state s ON s.check_id = c.id WHERE s.status <> 'ok' LIMIT 3" >&2
		bench_die "$bad table_growth checks are not ok"
	}
}

PASS_SQL="SELECT count(*) AS n FROM slo_run_checks(false)"

bench_say "measure only: sum(pg_total_relation_size) over $NTABLES tables"
measure_ms=$(time_passes "measure only" "$PASSES" \
	"SELECT sum(pg_total_relation_size(c.oid)) AS s FROM pg_class c WHERE c.relnamespace = 'app'::regnamespace AND c.relkind = 'r'" | median)

# ---- layout 1: one check of all the tables ----
bench_say "layout 1: one check of $NTABLES tables"
bench_psql -v ntables="$NTABLES" <<'SQL' >/dev/null
SELECT slo_add_check('growth_all', 'table_growth',
         jsonb_build_object('tables', (SELECT jsonb_agg('app.t' || i ORDER BY i) FROM generate_series(1, :ntables) i),
                            'max_bytes', 1e12, 'max_rows', 1e9, 'max_growth_per_day', 1e10));
SQL
a_first=$(time_passes "1x$NTABLES first" 1 "$PASS_SQL" | median)
check_ok
n=$(bench_psql -Atc "SELECT count(*) FROM slo_table_size")
((n == NTABLES)) || bench_die "first pass stored $n samples, expected $NTABLES"
a_steady=$(time_passes "1x$NTABLES steady" "$PASSES" "$PASS_SQL" | median)
n=$(bench_psql -Atc "SELECT count(*) FROM slo_table_size")
((n == NTABLES)) || bench_die "steady passes stored samples: $n, expected $NTABLES"
bench_say "synthesizing $HOURS hourly samples per table"
synthesize_history
hist_rows=$(bench_psql -Atc "SELECT count(*) FROM slo_table_size")
hist_size=$(bench_psql -Atc "SELECT pg_size_pretty(pg_total_relation_size('slo_table_size'))")
a_store=$(time_passes "1x$NTABLES store+trim" 1 "$PASS_SQL" | median)
a_week=$(time_passes "1x$NTABLES week steady" "$PASSES" "$PASS_SQL" | median)
check_ok
a_after=$(bench_psql -Atc "SELECT count(*) FROM slo_table_size")
a_detail=$(bench_psql -Atc "SELECT length(detail::text) FROM slo_result ORDER BY id DESC LIMIT 1")

# ---- layout 2: NSPLIT checks of NTABLES/NSPLIT tables ----
per=$((NTABLES / NSPLIT))
bench_say "layout 2: $NSPLIT checks of $per tables"
bench_psql -v nsplit="$NSPLIT" -v per="$per" <<'SQL' >/dev/null
SELECT slo_drop_check('growth_all');
SELECT slo_add_check('growth_' || k, 'table_growth',
         jsonb_build_object('tables', (SELECT jsonb_agg('app.t' || ((k - 1) * :per + i) ORDER BY i)
                                         FROM generate_series(1, :per) i),
                            'max_bytes', 1e12, 'max_rows', 1e9, 'max_growth_per_day', 1e10))
  FROM generate_series(1, :nsplit) k;
SQL
b_first=$(time_passes "${NSPLIT}x$per first" 1 "$PASS_SQL" | median)
check_ok
b_steady=$(time_passes "${NSPLIT}x$per steady" "$PASSES" "$PASS_SQL" | median)
bench_say "synthesizing $HOURS hourly samples per table"
synthesize_history
b_store=$(time_passes "${NSPLIT}x$per store+trim" 1 "$PASS_SQL" | median)
b_week=$(time_passes "${NSPLIT}x$per week steady" "$PASSES" "$PASS_SQL" | median)
check_ok

awk -v nt="$NTABLES" -v ns="$NSPLIT" -v per="$per" -v hours="$HOURS" -v passes="$PASSES" \
	-v measure="$measure_ms" -v af="$a_first" -v as="$a_steady" -v ast="$a_store" -v aw="$a_week" \
	-v bf="$b_first" -v bs="$b_steady" -v bst="$b_store" -v bw="$b_week" \
	-v hist_rows="$hist_rows" -v hist_size="$hist_size" -v a_after="$a_after" -v a_detail="$a_detail" \
	-v pg="$(bench_psql -Atc 'SHOW server_version')" \
	-v cpu="$(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)" \
	-v load="$(cut -d' ' -f1-3 /proc/loadavg)" '
function row(label, ms, nchecks) {
	printf "  %-34s %10.1f ms %10.1f µs %12.2f ms\n", label, ms, ms * 1000 / nt, ms / nchecks
}
BEGIN {
	print ""
	print "slo_guard table_growth benchmark"
	printf "  PostgreSQL %s, %s, load %s\n", pg, cpu, load
	printf "  %d tables (bigint pkey + text, 1-50 rows); history: %d samples a table = %d rows, %s\n",
		nt, hours, hist_rows, hist_size
	printf "  medians of %d passes (first and store+trim passes: one each)\n", passes
	print ""
	printf "  %-34s %13s %13s %15s\n", "", "pass", "per table", "per check"
	printf "  %-34s %10.1f ms %10.1f µs\n", "measure only (pg_total_relation_size)", measure, measure * 1000 / nt
	row("1 check x " nt ": first pass", af, 1)
	row("1 check x " nt ": steady", as, 1)
	row("1 check x " nt ": store+trim, week", ast, 1)
	row("1 check x " nt ": steady, week", aw, 1)
	row(ns " checks x " per ": first pass", bf, ns)
	row(ns " checks x " per ": steady", bs, ns)
	row(ns " checks x " per ": store+trim, week", bst, ns)
	row(ns " checks x " per ": steady, week", bw, ns)
	print ""
	printf "  history after the store pass (1 check): %d rows (%d added, %d expired trimmed)\n",
		a_after, nt, hist_rows + nt - a_after
	printf "  detail of the 1 x %d result: %d bytes (the 50 worst tables)\n", nt, a_detail
	print ""
	printf "RESULT growth_10k tables=%d steady_ms=%.1f week_steady_ms=%.1f week_store_ms=%.1f us_per_table=%.1f split_week_ms_per_check=%.2f measure_only_ms=%.1f\n",
		nt, as, aw, ast, aw * 1000 / nt, bw / ns, measure
}'
