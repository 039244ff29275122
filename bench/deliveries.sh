#!/usr/bin/env bash
# Benchmark: 1,000 queued deliveries drained by the worker to a local
# receiver, deliveries per second (issue 11's figure; the anchor pg_net
# reports 238 requests/s, the target is 4x that, 952/s).
#
# Usage (as root, from anywhere):  bash bench/deliveries.sh
#   BENCH_DELIVERIES=1000   deliveries queued
#   BENCH_RUNS=3            drains (median and best over them)
#   BENCH_RECEIVER=c        c: bench/http_sink.c (one thread, keep-alive);
#                           python: test/servers/httpd.py (the tests' recording
#                           receiver, which writes every request to a file)
#   BENCH_SKIP_BUILD=1      use the installed extension as it is
#
# A throwaway cluster with slo_guard preloaded (naptime 1 s) serves database
# postgres; one webhook target points at the receiver. Each run inserts the
# deliveries (state queued, all due at the same instant T a few seconds
# ahead), the worker's deliveries job wakes at T, claims them in batches of
# 500, sends each batch through libcurl multi (64 at a time) with no
# transaction open and writes the outcomes; the rate is
# N / (max(delivered_at) - T). The receiver counts requests and any
# Idempotency-Key seen twice (must be 0).
set -euo pipefail

# shellcheck source=bench/common.bash
source "$(dirname "${BASH_SOURCE[0]}")/common.bash"

N=${BENCH_DELIVERIES:-1000}
RUNS=${BENCH_RUNS:-3}
RECEIVER=${BENCH_RECEIVER:-c}

((EUID == 0)) || bench_die "run this as root (it installs the extension and runs a cluster as postgres)"
bench_say "dependencies"
bench_deps
if [[ "${BENCH_SKIP_BUILD:-}" != 1 ]]; then
	bench_say "building and installing slo_guard (private copy of the tree)"
	bench_build
fi
bench_tmp

RECV_OUT=$BENCH_TMP/receiver.out
if [[ $RECEIVER == c ]]; then
	gcc -O2 -Wall -o "$BENCH_TMP/http_sink" "$BENCH_DIR/http_sink.c" || bench_die "could not build bench/http_sink.c"
	"$BENCH_TMP/http_sink" 0 >"$RECV_OUT" 2>&1 &
	RECV_PID=$!
	for _ in $(seq 50); do grep -q '^PORT' "$RECV_OUT" 2>/dev/null && break; sleep 0.1; done
	RECV_PORT=$(sed -n 's/^PORT //p' "$RECV_OUT")
	HOOK="http://127.0.0.1:$RECV_PORT/hook/bench"
else
	mkdir -p "$BENCH_TMP/hooks"
	python3 "$BENCH_ROOT/test/servers/httpd.py" --dir "$BENCH_TMP/hooks" --port-file "$BENCH_TMP/hooks/port" \
		--max-seconds 3600 >"$RECV_OUT" 2>&1 &
	RECV_PID=$!
	for _ in $(seq 50); do [[ -s $BENCH_TMP/hooks/port ]] && break; sleep 0.1; done
	RECV_PORT=$(cat "$BENCH_TMP/hooks/port")
	HOOK="http://127.0.0.1:$RECV_PORT/hook/bench"
fi
[[ -n $RECV_PORT ]] || bench_die "the receiver did not start"
stop_receiver() { kill -TERM "$RECV_PID" 2>/dev/null && wait "$RECV_PID" 2>/dev/null || true; }
trap 'stop_receiver; bench_cluster_cleanup' EXIT

bench_say "starting a throwaway cluster (slo_guard preloaded); receiver: $RECEIVER on port $RECV_PORT"
bench_reinstall
bench_cluster_start "shared_preload_libraries = 'slo_guard'" "slo_guard.database = 'postgres'" \
	"slo_guard.naptime = '1s'" "slo_guard.allowed_hosts = '127.0.0.1'"
bench_psql -c "CREATE EXTENSION slo_guard" >/dev/null
bench_psql -c "SELECT slo_add_target('bench', 'webhook', '$HOOK')" >/dev/null

RATES=()
for ((run = 1; run <= RUNS; run++)); do
	bench_psql -c "TRUNCATE slo_delivery" >/dev/null
	T=$(bench_psql -Atc "SELECT now() + interval '3 seconds'")
	bench_psql -c "INSERT INTO slo_delivery (target_id, kind, event, payload, next_attempt_at)
	               SELECT t.id, 'test', 'test', jsonb_build_object('event', 'test', 'n', g,
	                      'summary', 'benchmark delivery', 'database', current_database()), '$T'
	                 FROM slo_target t, generate_series(1, $N) g" >/dev/null
	for _ in $(seq 600); do
		left=$(bench_psql -Atc "SELECT count(*) FROM slo_delivery WHERE state <> 'delivered'")
		[[ $left == 0 ]] && break
		sleep 0.1
	done
	[[ $left == 0 ]] || bench_die "run $run: $left deliveries not delivered after a minute"
	rate=$(bench_psql -Atc "SELECT round(($N / extract(epoch FROM max(delivered_at) - '$T'::timestamptz))::numeric, 0)
	                         FROM slo_delivery")
	secs=$(bench_psql -Atc "SELECT round(extract(epoch FROM max(delivered_at) - '$T'::timestamptz)::numeric, 3) FROM slo_delivery")
	bench_say "run $run: $N delivered in $secs s after they fell due: $rate deliveries/s"
	RATES+=("$rate")
done
stop_receiver
cat "$RECV_OUT" | grep -v '^PORT' | sed 's/^/    receiver: /' || true
read -r MED BEST < <(printf '%s\n' "${RATES[@]}" | bench_median_min)
BEST=$(printf '%s\n' "${RATES[@]}" | sort -g | tail -1)
echo
printf '%-44s %10s %10s %12s\n' "$N queued deliveries -> local receiver ($RECEIVER)" "median/s" "best/s" "pg_net, 4x"
printf '%-44s %10s %10s %12s\n' "" "$MED" "$BEST" "238, 952"
echo "RESULT deliveries receiver=$RECEIVER n=$N median_per_s=$MED best_per_s=$BEST"
