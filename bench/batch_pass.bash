#!/usr/bin/env bash
# bench/batch_pass.bash (not run by bench/run.sh: it needs a running server):
# 1,000 catalog checks run (a) as one slo_run_checks(false) pass in one
# transaction and (b) the way a run worker runs them: SloRunDueBatch batches of
# MAX checks / BUDGET ms, each batch its own transaction (autocommit).
#
# Needs a running server with a test build of slo_guard (-DSLO_TEST_KINDS, for
# slo_test_run_due_batch) and the checks of bench/catalog_checks.sql:
#   psql -v nchecks=1000 -v ntables=200 -v sample=50 -f bench/catalog_checks.sql
#   PSQL='psql -X -h /tmp -p 5432 -d postgres' MAX=100 BUDGET=50 bash bench/batch_pass.bash
# Prints the median of PASSES (10) timings of each, in ms, by the server's clock.
set -euo pipefail
PSQL=${PSQL:-psql -X}
MAX=${MAX:-100}
BUDGET=${BUDGET:-50}
PASSES=${PASSES:-10}
NCHECKS=$($PSQL -Atc "SELECT count(*) FROM slo_check WHERE enabled")
NBATCH=$(((NCHECKS + MAX - 1) / MAX + 1))
{
	echo "CREATE FUNCTION pg_temp.batch(int, int) RETURNS text AS 'slo_guard', 'slo_test_run_due_batch' LANGUAGE C STRICT;"
	echo "CREATE TEMP TABLE t (kind text, ms float8);"
	echo "SELECT count(*) FROM slo_run_checks(false) \\g /dev/null"
	for _ in $(seq "$PASSES"); do
		echo "SELECT clock_timestamp() AS t0 \\gset"
		echo "SELECT count(*) FROM slo_run_checks(false) \\g /dev/null"
		echo "INSERT INTO t SELECT 'one pass, one transaction', extract(epoch FROM clock_timestamp() - :'t0') * 1000;"
		echo "UPDATE slo_check_state SET next_run = now() - interval '1 s';"
		echo "SELECT clock_timestamp() AS t0 \\gset"
		for _ in $(seq "$NBATCH"); do echo "SELECT pg_temp.batch($MAX, $BUDGET) \\g /dev/null"; done
		echo "INSERT INTO t SELECT 'batches of $MAX / $BUDGET ms, one transaction each', extract(epoch FROM clock_timestamp() - :'t0') * 1000;"
	done
	echo "SELECT count(*) AS left_due FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id WHERE c.enabled AND s.next_run <= now();"
	echo "SELECT kind, round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 1) AS median_ms, round(min(ms)::numeric, 1) AS min_ms FROM t GROUP BY kind ORDER BY kind;"
} | $PSQL -q -v ON_ERROR_STOP=1
echo "($NCHECKS enabled checks; $NBATCH batch calls per sequence)"
