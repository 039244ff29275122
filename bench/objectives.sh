#!/usr/bin/env bash
# Benchmark (issue 13): objectives, slo_status() and slo_metrics() at size.
#
# Usage (as root, from anywhere):  bash bench/objectives.sh
#   BENCH_OBJECTIVES=10        objectives, each over its own check
#   BENCH_OBJ_DAYS=30          days of one result per 10 s per objective, written
#                              as rollups (minute and hour rows) and as raw results
#   BENCH_OBJ_RESULTS=1        0: skip writing the raw results of the objectives
#                              (slo_objective_status never reads them)
#   BENCH_CHECKS=1000          checks for slo_status() and slo_metrics()
#   BENCH_RESULTS=10000000     rows of history in slo_result behind those checks
#                              (10 million take minutes to write; lower it to
#                              iterate and say so when quoting the figures)
#   BENCH_PASSES=20            timed calls of each function (median and min)
#   BENCH_SKIP_BUILD=1         use the installed extension as it is
#
# It builds the extension from a private copy of the tree, starts its own
# throwaway cluster as postgres (bench/common.bash), fills the tables directly
# with SQL as the extension owner, and times each call by the server's
# clock_timestamp() around it, in one session:
#   objective_status  SELECT * FROM slo_objective_status(): every objective's
#                     period counts, budget and five burn rates (target < 20 ms)
#   status            SELECT * FROM slo_status() with BENCH_CHECKS checks and
#                     BENCH_RESULTS results (target < 5 ms)
#   metrics           SELECT slo_metrics() with BENCH_CHECKS checks, firing
#                     alerts and the objectives
#   pass / pass+obj   slo_run_checks(false) over BENCH_CHECKS table_exists checks
#                     without objectives, then with one objective on each of 10
#                     of them (the rollup write's cost in the run loop)
# and prints one "RESULT objectives ..." line that bench/run.sh collects.
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

NOBJ=${BENCH_OBJECTIVES:-10}
DAYS=${BENCH_OBJ_DAYS:-30}
OBJ_RESULTS=${BENCH_OBJ_RESULTS:-1}
NCHECKS=${BENCH_CHECKS:-1000}
NRESULTS=${BENCH_RESULTS:-10000000}
PASSES=${BENCH_PASSES:-20}

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"

bench_say "dependencies"
bench_deps
if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (private copy of the tree)"
	bench_build
fi
bench_say "starting a throwaway cluster"
bench_cluster_start
bench_create_extension slo_add_check slo_run_checks slo_add_objective slo_objective_status slo_metrics

# time_sql SQL: run SQL PASSES times in one session (after one untimed call),
# print "MEDIAN MIN" in milliseconds
time_sql() {
	bench_psql -At -v sql="$1" -v passes="$PASSES" <<'SQL' | bench_median_min
SELECT set_config('bench.sql', :'sql', false), set_config('bench.passes', :'passes', false) \g /dev/null
CREATE TEMP TABLE t (ms float8);
DO $$
DECLARE
    t0 timestamptz;
    q  text := current_setting('bench.sql');
BEGIN
    EXECUTE q;
    FOR i IN 1 .. current_setting('bench.passes')::int LOOP
        t0 := clock_timestamp();
        EXECUTE q;
        INSERT INTO t VALUES (EXTRACT(epoch FROM clock_timestamp() - t0) * 1000);
    END LOOP;
END
$$;
SELECT ms FROM t;
SQL
}

# ---- objectives: 30 days of one result per 10 s each ----
bench_say "$NOBJ objectives, $DAYS days of one result per 10 s each (rollups$( ((OBJ_RESULTS)) && echo ' and raw results'))"
t0=$EPOCHREALTIME
bench_psql -v nobj="$NOBJ" -v days="$DAYS" -v raw="$OBJ_RESULTS" <<'SQL'
SET synchronous_commit = off;
CREATE TABLE obj_app (id int);
SELECT slo_add_check('obj_check_' || i, 'table_exists', '{"tables": ["obj_app"]}', every => '10 seconds')
  FROM generate_series(1, :nobj) i \g /dev/null
SELECT slo_alter_check('obj_check_' || i, enabled => false) FROM generate_series(1, :nobj) i \g /dev/null
SELECT slo_add_objective('obj_' || i, 'obj_check_' || i, 0.999) FROM generate_series(1, :nobj) i \g /dev/null
-- 6 results a minute; about one in 2,000 bad (a 0.05 % error rate: budget half used)
INSERT INTO slo_objective_minute (objective_id, minute, good, total)
SELECT o.id, m, 6 - (hashint8(o.id * 1000003 + EXTRACT(epoch FROM m)::int8) & 1023 < 3)::int, 6
  FROM slo_objective o,
       generate_series(date_trunc('minute', now() - make_interval(days => :days)),
                       date_trunc('minute', now()), interval '1 minute') m;
INSERT INTO slo_objective_hour (objective_id, hour, good, total)
SELECT objective_id, date_trunc('hour', minute), sum(good), sum(total)
  FROM slo_objective_minute GROUP BY 1, 2;
\if :raw
INSERT INTO slo_result (check_id, check_name, at, status, value, summary, duration_ms)
SELECT o.check_id, 'obj_check_' || o.id, t, 'ok', NULL, 'ok', 0.1
  FROM slo_objective o,
       generate_series(now() - make_interval(days => :days), now(), interval '10 seconds') t;
\endif
VACUUM ANALYZE slo_objective_minute, slo_objective_hour, slo_objective, slo_result;
SQL
fill_obj=$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }")
rows=$(bench_psql -At -c "SELECT (SELECT count(*) FROM slo_objective_minute) || ' minute rows, ' || (SELECT count(*) FROM slo_objective_hour) || ' hour rows, ' || (SELECT count(*) FROM slo_result) || ' results'")
bench_say "filled in ${fill_obj}s: $rows"

read -r os_med os_min < <(time_sql 'SELECT * FROM slo_objective_status()')
bench_say "slo_objective_status(): median ${os_med} ms, min ${os_min} ms ($NOBJ objectives)"
bench_psql -c 'SELECT name, total, round(achieved::numeric, 5) AS achieved, round(budget_left::numeric, 3) AS budget_left, round(burn_1h::numeric, 2) AS burn_1h, state FROM slo_objective_status() LIMIT 3'

# ---- checks and history ----
bench_say "$NCHECKS checks, $NRESULTS results"
t0=$EPOCHREALTIME
bench_psql -v nchecks="$NCHECKS" -v nresults="$NRESULTS" <<'SQL'
SET synchronous_commit = off;
CREATE TABLE app_t (id int);
SELECT slo_add_check('check_' || i, 'table_exists',
                     jsonb_build_object('tables', jsonb_build_array(CASE WHEN i % 100 = 0 THEN 'missing_t' ELSE 'app_t' END)))
  FROM generate_series(1, :nchecks) i \g /dev/null
INSERT INTO slo_result (check_id, check_name, at, status, value, summary, duration_ms)
SELECT c.id, c.name, now() - (g / :nchecks) * interval '1 second', 'ok', 0, 'ok', 0.05
  FROM generate_series(0, :nresults - 1) g
  JOIN (SELECT id, name, row_number() OVER (ORDER BY id) - 1 AS k FROM slo_check
         WHERE name LIKE 'check\_%') c ON c.k = g % :nchecks;
VACUUM ANALYZE slo_result, slo_check, slo_check_state;
SQL
fill_res=$(awk "BEGIN { printf \"%.1f\", $EPOCHREALTIME - $t0 }")
bench_say "filled in ${fill_res}s: $(bench_psql -At -c 'SELECT count(*) FROM slo_result') results"

# a pass over the checks (the objectives' own checks run in it too)
read -r pass_med pass_min < <(PASSES=$(( PASSES < 10 ? PASSES : 10 )) time_sql "SELECT count(*) FROM slo_run_checks(false) WHERE check_name LIKE 'check\_%'")
bench_say "slo_run_checks(false), $NCHECKS checks + $NOBJ objective checks: median ${pass_med} ms, min ${pass_min} ms"
# the same with an objective over each of 10 of the checks (rollup writes)
bench_psql -c "SELECT slo_add_objective('pass_obj_' || i, 'check_' || i, 0.99) FROM generate_series(1, 10) i" >/dev/null
read -r passo_med passo_min < <(PASSES=$(( PASSES < 10 ? PASSES : 10 )) time_sql "SELECT count(*) FROM slo_run_checks(false) WHERE check_name LIKE 'check\_%'")
bench_say "the same with 10 more objectives over 10 of the checks: median ${passo_med} ms, min ${passo_min} ms"

read -r st_med st_min < <(time_sql 'SELECT * FROM slo_status()')
bench_say "slo_status(): median ${st_med} ms, min ${st_min} ms"
read -r me_med me_min < <(time_sql 'SELECT slo_metrics()')
bench_say "slo_metrics(): median ${me_med} ms, min ${me_min} ms ($(bench_psql -At -c 'SELECT length(slo_metrics())') bytes)"

printf "RESULT objectives objective_status_ms=%s status_ms=%s metrics_ms=%s pass_ms=%s pass_with_objectives_ms=%s objectives=%s checks=%s results=%s\n" \
	"$os_med" "$st_med" "$me_med" "$pass_med" "$passo_med" "$NOBJ" "$NCHECKS" "$NRESULTS"
