#!/bin/bash
# bench/worker_pgbench.sh: what the slo_guard worker costs a busy database.
#
# 1. Throughput: pgbench (-c 8, 30 s, select-only and TPC-B-like) with the
#    worker running 100 checks every second, against the same run with the
#    worker paused (slo_guard.enabled = off), alternating off/on and on/off in
#    successive pairs so that drift does not favour either side.  Prints each
#    run, the mean per mode and the ratio on/off (goal: > 0.98).
# 2. Memory: the worker's private memory (RssAnon from /proc/PID/status) and
#    its memory contexts (pg_log_backend_memory_contexts, "Grand total") after
#    ~100 passes and after ~10,000 passes (goal: no growth).  For the memory
#    run the 100 checks are spread over the second, so the worker makes ~100
#    passes a second, each running one check.
#
# Runs a throwaway cluster in a temporary directory with the installed
# slo_guard (make install first).  About 9 minutes with the defaults.
#   PAIRS=3 DURATION=30 CLIENTS=8 SCALE=10 MEM_PASSES=10000 bench/worker_pgbench.sh
set -euo pipefail

if [ "$(id -u)" = 0 ]; then
	# PostgreSQL refuses to run as root.
	exec runuser -u postgres -- env PAIRS="${PAIRS:-}" DURATION="${DURATION:-}" \
		CLIENTS="${CLIENTS:-}" SCALE="${SCALE:-}" MEM_PASSES="${MEM_PASSES:-}" \
		PG_CONFIG="${PG_CONFIG:-}" bash "$0" "$@"
fi

PAIRS=${PAIRS:-3}
DURATION=${DURATION:-30}
CLIENTS=${CLIENTS:-8}
SCALE=${SCALE:-10}
MEM_PASSES=${MEM_PASSES:-10000}
PG_CONFIG=${PG_CONFIG:-pg_config}
BIN=$("$PG_CONFIG" --bindir)
JOBS=$(nproc 2>/dev/null || echo 2)
[ "$JOBS" -gt "$CLIENTS" ] && JOBS=$CLIENTS

DIR=$(mktemp -d /tmp/slo_bench.XXXXXX)
PORT=$((20000 + RANDOM % 20000))
export PGHOST=$DIR PGPORT=$PORT PGDATABASE=postgres
PSQL=("$BIN/psql" -X -q -At -v ON_ERROR_STOP=1)

cleanup() {
	"$BIN/pg_ctl" -D "$DIR/data" -m immediate stop >/dev/null 2>&1 || true
	rm -rf "$DIR"
}
trap cleanup EXIT

q() { "${PSQL[@]}" -c "$1"; }

"$BIN/initdb" -D "$DIR/data" -A trust >/dev/null
cat >>"$DIR/data/postgresql.conf" <<EOF
port = $PORT
listen_addresses = ''
unix_socket_directories = '$DIR'
shared_preload_libraries = 'slo_guard'
slo_guard.database = 'postgres'
shared_buffers = 512MB
max_connections = 50
max_wal_size = 4GB
checkpoint_timeout = 30min
synchronous_commit = on
EOF
"$BIN/pg_ctl" -D "$DIR/data" -l "$DIR/log" -w start >/dev/null

echo "# $(nproc) CPUs; pgbench -c $CLIENTS -j $JOBS -T $DURATION, scale $SCALE, $PAIRS pairs per mode"
"$BIN/pgbench" -i -q -s "$SCALE" postgres >/dev/null 2>&1

# 100 checks every second: a realistic mix of cheap catalog checks, settings,
# health checks and a small SQL query (10 of each kind).
q "CREATE EXTENSION slo_guard"
"${PSQL[@]}" <<'EOF'
DO $$
DECLARE
    defs text[][] := ARRAY[
        ['table_exists',      '{"tables": ["pgbench_accounts", "pgbench_branches", "pgbench_tellers", "pgbench_history"]}'],
        ['columns_exist',     '{"table": "pgbench_accounts", "columns": ["aid", "bid", "abalance"]}'],
        ['function_exists',   '{"functions": ["now", "pg_catalog.length(text)"]}'],
        ['setting',           '{"name": "fsync", "allowed": ["on", "off"]}'],
        ['sql',               '{"query": "SELECT sum(bbalance) IS NOT NULL::int FROM pgbench_branches", "fail_below": 0}'],
        ['connections',       '{}'],
        ['wraparound',        '{}'],
        ['long_transactions', '{"max_age": "1 hour"}'],
        ['replication_lag',   '{}'],
        ['table_exists',      '{"tables": ["public.pgbench_accounts"]}']];
    n int := 0;
BEGIN
    FOR i IN 1..10 LOOP
        FOR k IN 1..array_length(defs, 1) LOOP
            BEGIN
                PERFORM slo_add_check(format('bench_%s_%s_%s', defs[k][1], k, i), defs[k][1],
                                      defs[k][2]::jsonb, every => '1 second');
                n := n + 1;
            EXCEPTION WHEN others THEN
                -- a kind this build does not have: stand in with table_exists
                PERFORM slo_add_check(format('bench_sub_%s_%s', k, i), 'table_exists',
                                      '{"tables": ["pgbench_tellers"]}', every => '1 second');
                n := n + 1;
            END;
        END LOOP;
    END LOOP;
    RAISE NOTICE 'added % checks', n;
END $$;
EOF
echo "# checks: $(q "SELECT string_agg(kind || ' x' || n, ', ') FROM (SELECT kind, count(*) n FROM slo_check GROUP BY kind ORDER BY kind) s")"

worker_pid() { q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'slo_guard' AND datname = 'postgres'"; }
worker_query() { q "SELECT query FROM pg_stat_activity WHERE backend_type = 'slo_guard' AND datname = 'postgres'"; }

# Switch the worker on or off and wait until it has noticed.
set_worker() {
	local want=$1
	q "ALTER SYSTEM SET slo_guard.enabled = $want" && q "SELECT pg_reload_conf()" >/dev/null
	for _ in $(seq 1 200); do
		local cur
		cur=$(worker_query)
		if [ "$want" = off ] && [[ "$cur" == *paused* ]]; then return; fi
		if [ "$want" = on ] && [[ "$cur" == *"running due checks"* ]]; then return; fi
		sleep 0.05
	done
	echo "worker did not switch $want (query: $(worker_query))" >&2
	exit 1
}

# One pgbench run; prints tps.
run_pgbench() {
	local mode=$1 opts=()
	[ "$mode" = select-only ] && opts=(-S)
	q "VACUUM pgbench_branches, pgbench_tellers" && q "TRUNCATE pgbench_history" && q "CHECKPOINT"
	"$BIN/pgbench" -n "${opts[@]}" -c "$CLIENTS" -j "$JOBS" -T "$DURATION" postgres 2>/dev/null |
		sed -n 's/^tps = \([0-9.]*\) (without initial connection time)/\1/p'
}

# CPU time (clock ticks) the worker has used so far.
worker_ticks() { awk '{ print $14 + $15 }' "/proc/$(worker_pid)/stat"; }
TCK=$(getconf CLK_TCK)
NCPU=$(nproc)

# Throughput on a shared machine is noisy: report every run, the mean per
# side, the ratio of the means and the median of the per-pair ratios, and the
# CPU the worker itself used (a cost estimate that the noise does not touch).
for mode in select-only tpcb-like; do
	offs=() ons=() ratios=() cpus=()
	for pair in $(seq 1 "$PAIRS"); do
		if [ $((pair % 2)) = 1 ]; then order="off on"; else order="on off"; fi
		declare -A T=()
		for w in $order; do
			set_worker "$w"
			r0=$(q "SELECT count(*) FROM slo_result")
			c0=$(worker_ticks)
			tps=$(run_pgbench "$mode")
			c1=$(worker_ticks)
			r1=$(q "SELECT count(*) FROM slo_result")
			rate=$(awk -v a="$r0" -v b="$r1" -v d="$DURATION" 'BEGIN { printf "%.0f", (b - a) / d }')
			cpu=$(awk -v a="$c0" -v b="$c1" -v t="$TCK" -v d="$DURATION" -v n="$NCPU" \
				'BEGIN { printf "%.2f", (b - a) / t / d / n * 100 }')
			printf '%-12s pair %d worker %-3s tps %10.1f   check results/s %4s   worker CPU %5s %% of the machine\n' \
				"$mode" "$pair" "$w" "$tps" "$rate" "$cpu"
			T[$w]=$tps
			[ "$w" = on ] && cpus+=("$cpu")
		done
		offs+=("${T[off]}")
		ons+=("${T[on]}")
		ratios+=("$(awk -v a="${T[on]}" -v b="${T[off]}" 'BEGIN { printf "%.4f", a / b }')")
		unset T
	done
	printf '%s\n' "${ratios[@]}" | sort -n | awk -v m="$mode" -v off="${offs[*]}" -v on="${ons[*]}" -v cpu="${cpus[*]}" '
		{ r[NR] = $1 }
		END {
			n = split(off, a, " "); split(on, b, " "); split(cpu, c, " ")
			for (i = 1; i <= n; i++) { so += a[i]; sn += b[i]; sc += c[i] }
			med = (NR % 2) ? r[(NR + 1) / 2] : (r[NR / 2] + r[NR / 2 + 1]) / 2
			printf "%-12s mean tps off %.1f, on %.1f; ratio of means %.4f; median pair ratio %.4f (per pair:", m, so / n, sn / n, sn / so, med
			for (i = 1; i <= NR; i++) printf " %s", r[i]
			printf "); worker CPU %.2f %% of the machine\n", sc / n
			# for bench/run (issue 15): tps with the worker against pgbench without it
			printf "FIGURE worker_pgbench_%s_tps %.1f tps >=%.1f pgbench_without_worker=%.1f\n", m, sn / n, 0.98 * so / n, so / n
			printf "FIGURE worker_pgbench_%s_cpu %.2f %%machine - -\n", m, sc / n
		}'
done

# ---- memory after ~100 vs ~MEM_PASSES passes --------------------------------
set_worker on
# Spread the checks' due times over the second: ~100 passes a second.
q "UPDATE slo_check_state s SET next_run = now() + interval '1 second' + (sub.rn * interval '10 ms')
     FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS rn FROM slo_check) sub
    WHERE s.check_id = sub.id"
# A fresh worker process, so that passes count from its start.
OLD=$(worker_pid)
q "SELECT pg_terminate_backend($OLD)" >/dev/null
PID=""
while [ -z "$PID" ] || [ "$PID" = "$OLD" ]; do sleep 0.2; PID=$(worker_pid); done
passes() { worker_query | sed -n 's/.*(pass \([0-9]*\)).*/\1/p'; }
mem_at() {
	local target=$1 p
	while :; do
		p=$(passes)
		[ -n "$p" ] && [ "$p" -ge "$target" ] && break
		sleep 0.2
	done
	local size
	size=$(wc -c <"$DIR/log")
	q "SELECT pg_log_backend_memory_contexts($PID)" >/dev/null
	local total=""
	for _ in $(seq 1 100); do
		total=$(tail -c +"$((size + 1))" "$DIR/log" | grep -a "\[$PID\].*Grand total" | tail -1 |
			sed -n 's/.*Grand total: \([0-9]*\) bytes.*/\1/p')
		[ -n "$total" ] && break
		sleep 0.05
	done
	local anon
	anon=$(awk '/^RssAnon/ { print $2 }' "/proc/$PID/status")
	printf 'worker pid %s after %6s passes: RssAnon %6s kB, memory contexts %8s bytes\n' \
		"$PID" "$(passes)" "$anon" "$total"
}
mem_at 100
mem_at $((MEM_PASSES / 10))
mem_at $((MEM_PASSES / 2))
mem_at "$MEM_PASSES"
echo "# check results written: $(q "SELECT count(*) FROM slo_result"); worker errors in log: $(grep -c 'pass failed' "$DIR/log" || true)"
echo "# mean run time per check kind (ms), from slo_result.duration_ms:"
q "SELECT format('#   %-18s %8s ms  (%s runs)', c.kind, round(avg(r.duration_ms)::numeric, 3), count(*))
     FROM slo_result r JOIN slo_check c ON c.id = r.check_id GROUP BY c.kind ORDER BY avg(r.duration_ms) DESC"
