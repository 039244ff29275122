#!/usr/bin/env bash
# Benchmark: what a connections check and a long_transactions check cost with
# 500 client sessions open, against the same checks on an empty server.
#
# Usage (as root, from anywhere):  bash bench/sessions_500.sh
#   BENCH_SESSIONS=500    sessions to hold open: 80 % idle, 10 % idle in
#                         transaction, 10 % active (in SELECT pg_sleep())
#   BENCH_WARMUP=3        untimed passes first, per check
#   BENCH_PASSES=30       timed passes, per check (median and min reported)
#   BENCH_SKIP_BUILD=1    use the installed extension as it is
#
# It builds and installs the extension (private copy of the tree, the C
# functions pinned to that build: see bench/README.md), starts its own
# throwaway cluster as postgres with max_connections = 600, and registers two
# checks: connections (defaults: warn 80 %, fail 95 %) and long_transactions
# (max_age 5 seconds).  The sessions are held by three pgbench processes
# whose scripts sleep client-side (\sleep), so the sessions cost the server
# nothing while the checks run:
#   idle                 SELECT 1; \sleep 1800 s
#   idle in transaction  BEGIN; SELECT txid_current(); \sleep 1800 s; END
#   active               SELECT pg_sleep(1800)
# (pgbench keeps \sleep in microseconds in an int: 3600 s would overflow and
# not sleep at all, and 500 clients would loop flat out.)
#
# What is timed, per check, with only that check enabled (each check reads
# pg_stat_activity once per transaction; run alone, neither gets the other's
# snapshot for free):
#   check: slo_result.duration_ms, the run loop's own clock around the check
#     (subtransaction, role and search_path switch, the kind's queries);
#   pass:  `SELECT ... FROM slo_run_checks(false)` from one open session,
#     between clock_timestamp() before and after (adds loading the check,
#     writing its result and state, and the commit).
# First with no other session open, then with the sessions open.  Prints the
# figures and one "RESULT ..." line that bench/run.sh collects.
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

NSESSIONS=${BENCH_SESSIONS:-500}
WARMUP=${BENCH_WARMUP:-3}
PASSES=${BENCH_PASSES:-30}
N_TX=$((NSESSIONS / 10))
N_ACTIVE=$((NSESSIONS / 10))
N_IDLE=$((NSESSIONS - N_TX - N_ACTIVE))
MAX_CONN=$((NSESSIONS + 100))

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"

bench_say "dependencies"
bench_deps
if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (make -s && make -s install, private copy of the tree)"
	bench_build
fi

bench_say "starting a throwaway cluster (max_connections = $MAX_CONN)"
bench_cluster_start "max_connections = $MAX_CONN"
bench_create_extension slo_add_check slo_run_checks slo_alter_check
bench_psql >/dev/null <<-'SQL'
	SELECT slo_add_check('conn', 'connections');
	SELECT slo_add_check('longtx', 'long_transactions', '{"max_age": "5 seconds"}');
SQL

# The session holders: pgbench clients that sleep on the client side.
printf 'SELECT 1;\n\\sleep 1800 s\n' | bench_as_pg tee "$BENCH_TMP/idle.sql" >/dev/null
printf 'BEGIN;\nSELECT txid_current();\n\\sleep 1800 s\nEND;\n' | bench_as_pg tee "$BENCH_TMP/tx.sql" >/dev/null
printf 'SELECT pg_sleep(1800);\n' | bench_as_pg tee "$BENCH_TMP/active.sql" >/dev/null
# pgbench runs as this (root) user, connecting as postgres over the socket, so
# that $! is pgbench itself: a client asleep in \sleep would not notice its
# session ending before the sleep is over, so the holders are stopped by pid.
HOLDERS=()
stop_holders() {
	((${#HOLDERS[@]})) || return 0
	kill "${HOLDERS[@]}" 2>/dev/null || true
	wait "${HOLDERS[@]}" 2>/dev/null || true
	HOLDERS=()
}
trap 'stop_holders; bench_cluster_cleanup' EXIT
hold() { # hold N SCRIPT: N sessions running SCRIPT, in the background
	"$PG_BINDIR/pgbench" -n -h "$BENCH_SOCK" -p "$BENCH_PORT" -U postgres \
		-c "$1" -j "$(nproc)" -T 1800 -f "$BENCH_TMP/$2" postgres \
		>>"$BENCH_TMP/pgbench.log" 2>&1 &
	HOLDERS+=($!)
}

# time_check NAME LABEL: WARMUP + PASSES passes with only NAME enabled; prints
# "CHECK_MEDIAN CHECK_MIN PASS_MEDIAN PASS_MIN" (ms) and keeps the last result.
time_check() {
	local name=$1 label=$2 other p
	other=$([[ $name == conn ]] && echo longtx || echo conn)
	bench_psql -c "SELECT slo_alter_check('$name', enabled => true),
	                      slo_alter_check('$other', enabled => false)" >/dev/null
	{
		echo "CREATE TEMP TABLE bench_timing (pass int, check_ms float8, pass_ms float8);"
		for ((p = 1; p <= WARMUP + PASSES; p++)); do
			echo "SELECT clock_timestamp() AS t0 \\gset"
			echo "SELECT duration_ms AS d FROM slo_run_checks(false) WHERE check_name = '$name' \\gset"
			echo "INSERT INTO bench_timing VALUES ($p, :d, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);"
		done
		echo "SELECT check_ms, pass_ms FROM bench_timing WHERE pass > $WARMUP ORDER BY pass;"
	} >"$BENCH_TMP/time_$name.sql"
	bench_psql -AtF' ' <"$BENCH_TMP/time_$name.sql" >"$BENCH_TMP/time_${name}_$label.out"
	read -r cm cmin < <(cut -d' ' -f1 "$BENCH_TMP/time_${name}_$label.out" | bench_median_min)
	read -r pm pmin < <(cut -d' ' -f2 "$BENCH_TMP/time_${name}_$label.out" | bench_median_min)
	echo "$cm $cmin $pm $pmin"
}

last_result() { # last_result NAME: "status | value | summary" of its latest result
	bench_psql -AtF' | ' -c "SELECT status, round(value::numeric, 1), summary FROM slo_result
	                          WHERE check_name = '$1' ORDER BY id DESC LIMIT 1"
}

# ---- no other session ----
bench_say "baseline: no other session open; $WARMUP warm-up + $PASSES timed passes per check"
read -r b_conn b_conn_min b_conn_pass b_conn_pass_min < <(time_check conn empty)
read -r b_tx b_tx_min b_tx_pass b_tx_pass_min < <(time_check longtx empty)
b_conn_res=$(last_result conn)
b_tx_res=$(last_result longtx)

# ---- with the sessions open ----
bench_say "opening $NSESSIONS sessions: $N_IDLE idle, $N_TX idle in transaction, $N_ACTIVE active"
hold "$N_IDLE" idle.sql
hold "$N_TX" tx.sql
hold "$N_ACTIVE" active.sql
for ((i = 0; i < 120; i++)); do
	n=$(bench_psql -Atc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'pgbench'")
	((n >= NSESSIONS)) && break
	sleep 1
done
((n >= NSESSIONS)) || {
	tail -n 20 "$BENCH_TMP/pgbench.log" >&2
	bench_die "only $n of $NSESSIONS sessions opened"
}
bench_say "$n sessions open; waiting 6 s so that their transactions pass max_age"
sleep 6
states=$(bench_psql -Atc "SELECT string_agg(state || ': ' || n, ', ' ORDER BY state) FROM (
	SELECT state, count(*) AS n FROM pg_stat_activity WHERE application_name = 'pgbench'
	 GROUP BY state) s")
bench_say "sessions: $states"

bench_say "with $NSESSIONS sessions: $WARMUP warm-up + $PASSES timed passes per check"
read -r s_conn s_conn_min s_conn_pass s_conn_pass_min < <(time_check conn sessions)
read -r s_tx s_tx_min s_tx_pass s_tx_pass_min < <(time_check longtx sessions)
s_conn_res=$(last_result conn)
s_tx_res=$(last_result longtx)

# The same query a monitoring script would send, for scale: a count of
# pg_stat_activity by state, one statement, from psql.
{
	echo "CREATE TEMP TABLE q_timing (ms float8);"
	for ((p = 1; p <= WARMUP + PASSES; p++)); do
		echo "SELECT clock_timestamp() AS t0 \\gset"
		echo "SELECT count(*) FROM (SELECT state, count(*) FROM pg_stat_activity GROUP BY state) s \\gset"
		((p > WARMUP)) && echo "INSERT INTO q_timing VALUES (extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000);"
	done
	echo "SELECT ms FROM q_timing;"
} >"$BENCH_TMP/plain.sql"
read -r q_med q_min < <(bench_psql -At <"$BENCH_TMP/plain.sql" | bench_median_min)

stop_holders

echo
echo "slo_guard health checks with $NSESSIONS sessions open"
echo "  PostgreSQL $(bench_psql -Atc 'SHOW server_version'), $(nproc) CPUs, $(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n 1)"
echo "  max_connections = $MAX_CONN; sessions: $states"
echo "  $PASSES timed passes per check after $WARMUP warm-up, each check alone in its pass"
echo
printf '  %-40s %14s %14s %14s %14s\n' "" "check median" "check min" "pass median" "pass min"
printf '  %-40s %11.3f ms %11.3f ms %11.3f ms %11.3f ms\n' \
	"connections, no other session" "$b_conn" "$b_conn_min" "$b_conn_pass" "$b_conn_pass_min" \
	"connections, $NSESSIONS sessions" "$s_conn" "$s_conn_min" "$s_conn_pass" "$s_conn_pass_min" \
	"long_transactions, no other session" "$b_tx" "$b_tx_min" "$b_tx_pass" "$b_tx_pass_min" \
	"long_transactions, $NSESSIONS sessions" "$s_tx" "$s_tx_min" "$s_tx_pass" "$s_tx_pass_min"
printf '  %-40s %11.3f ms %11.3f ms\n' "plain GROUP BY state over pg_stat_activity" "$q_med" "$q_min"
echo
echo "  last results (status | value | summary):"
echo "    connections, no other session:         $b_conn_res"
echo "    connections, $NSESSIONS sessions:           $s_conn_res"
echo "    long_transactions, no other session:   $b_tx_res"
echo "    long_transactions, $NSESSIONS sessions:     $s_tx_res"
echo
printf 'RESULT sessions_500 sessions=%d connections_ms=%.3f long_transactions_ms=%.3f connections_empty_ms=%.3f long_transactions_empty_ms=%.3f\n' \
	"$NSESSIONS" "$s_conn" "$s_tx" "$b_conn" "$b_tx"

# The checks must have seen the sessions.
[[ "$s_conn_res" == warn* || "$s_conn_res" == fail* ]] ||
	bench_die "connections did not see $NSESSIONS of $((MAX_CONN - 3)) usable connections in use"
[[ "$s_tx_res" == fail* ]] || bench_die "long_transactions did not see the open transactions"
exit 0
