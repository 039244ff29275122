#!/usr/bin/env bash
# Benchmark (issue 11): 1,000 http probes of an endpoint that answers after
# 200 ms, in one pass: slo_run_checks(false) in one session (all probes in
# flight at once through libcurl's multi interface), and the same 1,000
# probes run by the worker (parked: polled with no transaction open).
# Target: a pass under 1 s.
#
# Usage (as root, from anywhere):  bash bench/http_probes.sh
#   BENCH_PROBES=1000        probes (checks) to register
#   BENCH_DELAY_MS=200       the endpoint's answer delay
#   BENCH_PASSES=5           timed passes per setting (median and min reported)
#   BENCH_CONCURRENT=1000    slo_guard.max_concurrent_http for the main figure
#                            (a pass is also timed with the default, 100)
#   BENCH_SKIP_BUILD=1       use the installed extension as it is
#   BENCH_STRICT=1           exit 1 when the target is missed
#
# The endpoint is test/servers/httpd.py --asyncio (python3 standard library,
# one event loop: a thread per connection would measure Python, not us) on 127.0.0.1; the cluster is the throwaway one of
# bench/common.bash, started with a file-descriptor limit of 8192 so that a
# backend can hold 1,000 sockets (the usual soft limit of 1,024 cannot).
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

NPROBES=${BENCH_PROBES:-1000}
DELAY=${BENCH_DELAY_MS:-200}
PASSES=${BENCH_PASSES:-5}
CONC=${BENCH_CONCURRENT:-1000}
TARGET_MS=1000

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"

bench_say "dependencies"
bench_deps
command -v python3 >/dev/null || bench_die "python3 not found"

if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (make -s && make -s install, private copy of the tree)"
	bench_build
fi

bench_tmp
bench_say "starting the endpoint (test/servers/httpd.py)"
python3 "$BENCH_ROOT/test/servers/httpd.py" --asyncio --port-file "$BENCH_TMP/httpd.port" \
	--max-seconds 900 >"$BENCH_TMP/httpd.log" 2>&1 &
HTTPD_PID=$!
for _ in $(seq 100); do [[ -s "$BENCH_TMP/httpd.port" ]] && break; sleep 0.1; done
[[ -s "$BENCH_TMP/httpd.port" ]] || bench_die "httpd.py did not start"
HPORT=$(cat "$BENCH_TMP/httpd.port")
stop_httpd() { kill "$HTTPD_PID" 2>/dev/null || true; wait "$HTTPD_PID" 2>/dev/null || true; bench_cluster_cleanup; }
trap stop_httpd EXIT

bench_say "starting a throwaway cluster (nofile 8192)"
bench_reinstall
bench_cluster_start "shared_preload_libraries = 'slo_guard'" "slo_guard.enabled = off" \
	"slo_guard.naptime = 100ms" "slo_guard.max_workers = 1" \
	"slo_guard.allowed_hosts = '127.0.0.1'" "slo_guard.max_concurrent_http = $CONC" \
	"max_worker_processes = 16"
bench_as_pg "$PG_BINDIR/pg_ctl" -D "$BENCH_DATA" -m fast -w -t 60 stop >/dev/null
bench_as_pg bash -c "ulimit -n 8192 && '$PG_BINDIR/pg_ctl' -D '$BENCH_DATA' -l '$BENCH_LOG' -w -t 60 start" >/dev/null ||
	bench_die "the cluster did not restart"
# preloaded: plain CREATE EXTENSION from the build just installed (as bench/guard_ddl.sh)
bench_reinstall
bench_psql -c 'CREATE EXTENSION slo_guard' >/dev/null

bench_say "registering $NPROBES http checks of http://127.0.0.1:$HPORT/slow?ms=$DELAY"
bench_psql -c "SELECT count(slo_add_check('probe' || i, 'http',
	jsonb_build_object('url', 'http://127.0.0.1:$HPORT/slow?ms=$DELAY&i=' || i, 'timeout_ms', 10000),
	every => '1 hour')) FROM generate_series(1, $NPROBES) i" >/dev/null

set_conc() {
	bench_psql -c "ALTER SYSTEM SET slo_guard.max_concurrent_http = $1" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.5
}

# passes N: time N passes of slo_run_checks(false) in one session; prints "MEDIAN MIN"
passes() {
	local n=$1 p
	{
		echo "CREATE TEMP TABLE bench_timing (pass int, ms float8, n bigint, ok bigint);"
		for ((p = 1; p <= n; p++)); do
			echo "SELECT clock_timestamp() AS t0 \\gset"
			echo "CREATE TEMP TABLE r$p AS SELECT * FROM slo_run_checks(false);"
			echo "INSERT INTO bench_timing SELECT $p, extract(epoch FROM clock_timestamp() - :'t0'::timestamptz) * 1000, count(*), count(*) FILTER (WHERE status = 'ok') FROM r$p;"
		done
		echo "SELECT pass, round(ms::numeric, 1), n, ok FROM bench_timing ORDER BY pass;"
	} >"$BENCH_TMP/passes.sql"
	bench_psql -AtF" " <"$BENCH_TMP/passes.sql" >"$BENCH_TMP/passes.out"
	local times=() pass ms cnt ok
	while read -r pass ms cnt ok; do
		((cnt == NPROBES && ok == NPROBES)) || bench_die "pass $pass: $cnt results, $ok ok; expected $NPROBES ok"
		printf '    pass %d: %8.1f ms\n' "$pass" "$ms" >&2
		times+=("$ms")
	done <"$BENCH_TMP/passes.out"
	printf '%s\n' "${times[@]}" | bench_median_min
}

bench_say "explicit passes, max_concurrent_http = $CONC (warm-up pass first)"
passes 1 >/dev/null
read -r med min < <(passes "$PASSES")
bench_say "explicit passes, max_concurrent_http = 100 (the default)"
set_conc 100
read -r med100 min100 < <(passes 2)
set_conc "$CONC"

# the worker: every probe due at once; time from the wake-up to the last result written
bench_say "the worker: $NPROBES probes due at once (parked, no transaction open)"
bench_psql -c "ALTER SYSTEM SET slo_guard.enabled = on" -c "SELECT pg_reload_conf()" >/dev/null
sleep 1
wmeds=()
for ((p = 1; p <= 3; p++)); do
	bench_psql -c "TRUNCATE slo_result" >/dev/null
	t0=$(bench_psql -Atc "UPDATE slo_check_state SET next_run = now() RETURNING 1" >/dev/null; date +%s.%N)
	for _ in $(seq 300); do
		n=$(bench_psql -Atc "SELECT count(*) FROM slo_result")
		((n >= NPROBES)) && break
		sleep 0.05
	done
	((n >= NPROBES)) || bench_die "the worker wrote $n of $NPROBES results in 15 s"
	span=$(bench_psql -Atc "SELECT round(extract(epoch FROM max(at) + max(duration_ms) * interval '1 ms' - min(at)) * 1000)
		FROM slo_result" 2>/dev/null || echo nan)
	wmeds+=("$span")
	printf '    worker pass %d: %s ms from the first start to the last probe done\n' "$p" "$span"
done
read -r wmed wmin < <(printf '%s\n' "${wmeds[@]}" | bench_median_min)
bench_psql -c "ALTER SYSTEM SET slo_guard.enabled = off" -c "SELECT pg_reload_conf()" >/dev/null

echo
printf '%-62s %10s %10s\n' "1,000 probes of a ${DELAY} ms endpoint, one pass" "median ms" "min ms"
printf '%-62s %10.1f %10.1f\n' "slo_run_checks(false), max_concurrent_http = $CONC" "$med" "$min"
printf '%-62s %10.1f %10.1f\n' "slo_run_checks(false), max_concurrent_http = 100 (default)" "$med100" "$min100"
printf '%-62s %10.1f %10.1f\n' "worker (parked probes), max_concurrent_http = $CONC" "$wmed" "$wmin"
status=ok
awk -v m="$med" -v t="$TARGET_MS" 'BEGIN { exit !(m < t) }' || status=MISSED
echo "RESULT http_probes: $NPROBES probes of ${DELAY} ms in ${med} ms (target < ${TARGET_MS} ms: $status); default concurrency ${med100} ms; worker ${wmed} ms"
[[ "${BENCH_STRICT:-}" == 1 && $status != ok ]] && exit 1
exit 0
