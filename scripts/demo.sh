#!/usr/bin/env bash
# slo_guard demo (README): the two runbooks of ../shared/seeds/ watched from
# inside PostgreSQL.
#
#   bash scripts/demo.sh
#
# As root (or a sudoer), in about a minute, on a throwaway cluster that it
# stops and deletes at the end:
#   1. installs the Debian packages, builds and installs slo_guard;
#   2. creates the NestSync and MachineMate tables (demo/schema.sql) in a
#      database `slo_demo`, as the apps have them today;
#   3. turns slo_guard on: shared_preload_libraries, slo_guard.database,
#      slo_guard.naptime = 500ms, a restart, CREATE EXTENSION, and the
#      runbook checks (demo/checks.sql);
#   4. with a psql session LISTENing on channel slo_guard, runs a bad
#      migration (demo/break.sql), waits for the background worker to notice,
#      and shows the NOTIFY payloads and slo_status(): the P0 alert firing, the
#      fail_after => 2 check pending, then firing;
#   5. repairs it (demo/repair.sql) and shows the alerts resolved, and
#      (issue 11) the same events delivered to a local webhook receiver, as
#      webhook JSON and in Slack format, then probes a local HTTP endpoint
#      (http checks: a JSON health endpoint with value_path and assert, and
#      one that answers 503).
# Nothing calls slo_run_checks(): the worker runs the checks. Should no worker
# show up in pg_stat_activity, the demo says so and runs the checks with
# slo_run_checks() itself, as pg_cron would.
#
# Environment: SLO_DEMO_TIMEOUT (seconds a wait may take, default 30);
# KEEP_TMP=1 keeps the cluster's directory (and its server log);
# SLO_DEMO_WORKER=off does not preload slo_guard: no worker, the checks run
# from slo_run_checks() (the pg_cron / by-hand way).
set -uo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DB=slo_demo
CHANNEL=slo_guard
WAIT=${SLO_DEMO_TIMEOUT:-30}
START=$SECONDS
WORK=
DATA=
PORT=
LISTENER_PID=
MODE=worker
DONE=0

if [[ -t 1 ]]; then
	step() { printf '\n\033[1m### %s\033[0m\n' "$*"; }
else
	step() { printf '\n### %s\n' "$*"; }
fi
note() { printf '    %s\n' "$*"; }
die() {
	printf '\ndemo FAILED: %s\n' "$*" >&2
	[[ -n "$DATA" && -f "$WORK/server.log" ]] && {
		echo "---- server log (last 30 lines) ----" >&2
		tail -n 30 "$WORK/server.log" >&2
	}
	exit 1
}

cleanup() {
	((DONE)) && return
	DONE=1
	if [[ -n "$LISTENER_PID" ]]; then
		# It quits by itself within 0.25 s of the stop file; else, end it.
		touch "$WORK/stop" 2>/dev/null
		for ((i = 0; i < 20; i++)); do
			kill -0 "$LISTENER_PID" 2>/dev/null || break
			sleep 0.1
		done
		kill "$LISTENER_PID" 2>/dev/null
		wait "$LISTENER_PID" 2>/dev/null
	fi
	[[ -n "$DATA" ]] && sg_cluster_stop "$DATA"
	if [[ -n "$WORK" && -d "$WORK" ]]; then
		if [[ "${KEEP_TMP:-0}" == 1 ]]; then
			echo "kept $WORK (server log: $WORK/server.log)"
		else
			rm -rf "$WORK"
		fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# psql on the demo database as the superuser; extra args pass through.
psql_db() {
	sg_as_pg "$PG_BINDIR/psql" -X -v ON_ERROR_STOP=1 -P pager=off \
		-h 127.0.0.1 -p "$PORT" -U postgres -d "$DB" "$@"
}
# One value from a query.
q() { psql_db -Atq -c "$1"; }
# psql's own output, indented, for what a user would type.
show() {
	echo "    $DB=# $1"
	psql_db -c "$1" 2>&1 | sed 's/^/    /'
}
show_status() {
	show "SELECT name, severity, state, status, summary FROM slo_status();"
}

# wait_until WHAT SQL: poll (every 0.2 s, at most $WAIT s) until SQL is true.
# Without a worker, each poll is also what a pg_cron job would do:
# slo_run_checks() of the due checks.
wait_until() {
	local what=$1 sql=$2 deadline=$((SECONDS + WAIT)) t0=$SECONDS
	while ((SECONDS < deadline)); do
		[[ "$MODE" == manual ]] && q "SELECT count(*) FROM slo_run_checks()" >/dev/null
		if [[ "$(q "SELECT ($sql)")" == t ]]; then
			note "($what: after $((SECONDS - t0)) s)"
			return 0
		fi
		sleep 0.2
	done
	return 1
}

# The listener's notification lines not shown yet, with the first payload of
# each call pretty-printed.
SHOWN=0
show_notifications() {
	local lines line payload
	mapfile -t lines < <(grep -a '^Asynchronous notification' "$WORK/listener.out" 2>/dev/null)
	if ((${#lines[@]} == SHOWN)); then
		note "(no new notification on channel $CHANNEL)"
		return
	fi
	echo "    the LISTENing psql session printed:"
	for line in "${lines[@]:SHOWN}"; do
		echo "    $line"
	done
	payload=$(sed -n 's/^Asynchronous notification "[^"]*" with payload "\(.*\)" received from server process with PID [0-9]*\.$/\1/p' \
		<<<"${lines[SHOWN]}")
	if [[ -n "$payload" ]]; then
		echo "    first payload, pretty-printed:"
		sg_as_pg "$PG_BINDIR/psql" -X -Atq -h 127.0.0.1 -p "$PORT" -U postgres -d "$DB" \
			-v p="$payload" <<<"SELECT jsonb_pretty(:'p'::jsonb);" 2>&1 | sed 's/^/        /'
	fi
	SHOWN=${#lines[@]}
}

# ------------------------------------------------------------------ install
step "1. Install: Debian packages, build, make install"
bash "$SG_ROOT/scripts/install-deps.sh" || die "could not install the Debian packages"
WORK=$(sg_mktemp slo_guard_demo) || die "mktemp"
sg_copy_tree "$WORK/src" || die "could not copy the tree"
# From here on, work in the postgres-owned copy: the checkout may sit where the
# postgres user cannot go (root's home, mode 700), and psql runs as postgres.
cd "$WORK" || die "cd $WORK"
DEMO=$WORK/src/demo
sg_build "$WORK/src" "$WORK/build.log" "" || {
	tail -n 30 "$WORK/build.log"
	die "the build failed"
}
sg_install "$WORK/src" "$WORK/build.log" || {
	tail -n 30 "$WORK/build.log"
	die "make install failed"
}
note "slo_guard $(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$SG_ROOT/slo_guard.control") installed into $("$PG_CONFIG" --pkglibdir)"

# --------------------------------------------------------- the apps' tables
step "2. The apps' database as it is today (demo/schema.sql)"
PORT=$(sg_free_port) || die "no free port"
DATA=$WORK/data
sg_cluster_init "$DATA" "$PORT" || die "initdb failed"
sg_cluster_start "$DATA" "$WORK/server.log" || die "the cluster did not start"
sg_as_pg "$PG_BINDIR/createdb" -h 127.0.0.1 -p "$PORT" -U postgres "$DB" || die "createdb failed"
note "throwaway cluster: PostgreSQL $(q 'SHOW server_version') on 127.0.0.1:$PORT, data in $DATA"
psql_db -q -f "$DEMO/schema.sql" || die "demo/schema.sql failed"
show "SELECT table_schema AS schema, string_agg(table_name, ', ' ORDER BY table_name) AS tables FROM information_schema.tables WHERE table_schema IN ('public', 'machinemate') GROUP BY 1 ORDER BY 1;"

# ------------------------------------------------------- turn slo_guard on
step "3. Turn slo_guard on: preload, restart, CREATE EXTENSION, the runbook checks"
{
	if [[ "${SLO_DEMO_WORKER:-on}" == off ]]; then
		echo "# SLO_DEMO_WORKER=off: slo_guard not preloaded, no worker"
	else
		echo "shared_preload_libraries = 'slo_guard'"
	fi
	echo "slo_guard.database = '$DB'"
	echo "slo_guard.naptime = '500ms'"
	echo "slo_guard.allowed_hosts = '127.0.0.1'"
} | sg_as_pg tee -a "$DATA/postgresql.conf" | sed 's/^/    postgresql.conf: /'
sg_cluster_stop "$DATA"
sg_cluster_start "$DATA" "$WORK/server.log" || die "the cluster did not restart with slo_guard preloaded"
show "CREATE EXTENSION slo_guard;"
[[ "$(q "SELECT count(*) FROM pg_extension WHERE extname = 'slo_guard'")" == 1 ]] ||
	die "CREATE EXTENSION slo_guard failed"
echo "    $DB=# \\i demo/checks.sql"
psql_db -q -At -f "$DEMO/checks.sql" >/dev/null || die "demo/checks.sql failed"
show "SELECT id, name, kind, severity, every, fail_after FROM slo_check ORDER BY id;"

# Who runs the checks: the worker, or (until there is one) this script.
WORKER_SQL="SELECT count(*) > 0 FROM pg_stat_activity
	 WHERE datname = '$DB'
	   AND (backend_type ILIKE '%slo_guard%' OR application_name ILIKE '%slo_guard%')"
WAIT=5
if wait_until "slo_guard's worker connected to $DB" "$WORKER_SQL"; then
	show "SELECT pid, backend_type, application_name FROM pg_stat_activity WHERE datname = '$DB' AND backend_type <> 'client backend';"
	WAIT=10
	if ! wait_until "the worker ran every check" "SELECT bool_and(last_run IS NOT NULL) FROM slo_status()"; then
		MODE=manual
		note "the worker is there but ran no check in ${WAIT} s: running them with slo_run_checks() instead"
	fi
else
	MODE=manual
	note "no slo_guard worker in pg_stat_activity after ${WAIT} s: this demo runs the checks"
	note "with SELECT slo_run_checks() every 0.2 s instead, as a pg_cron job would"
fi
WAIT=${SLO_DEMO_TIMEOUT:-30}
wait_until "every check ok" "SELECT bool_and(state = 'ok') FROM slo_status()" ||
	{
		show_status
		die "not every check is ok on the healthy schema"
	}
show_status

# issue 11: alerts also go to targets: a local webhook receiver
# (test/servers/httpd.py records every request), in webhook and Slack format
HOOKS=$WORK/hooks
mkdir -p "$HOOKS" && chmod 777 "$HOOKS"
python3 "$SG_ROOT/test/servers/httpd.py" --dir "$HOOKS" --port-file "$HOOKS/port" --max-seconds 600 \
	>"$WORK/httpd.log" 2>&1 &
HTTPD_PID=$!
for ((i = 0; i < 50; i++)); do [[ -s "$HOOKS/port" ]] && break; sleep 0.1; done
HP=$(cat "$HOOKS/port" 2>/dev/null) || die "the local webhook receiver did not start"
note "a local webhook receiver listens on 127.0.0.1:$HP"
show "SELECT slo_add_target('ops_webhook', 'webhook', 'http://127.0.0.1:$HP/hook/ops') AS webhook,
             slo_add_target('team_slack', 'slack', 'http://127.0.0.1:$HP/hook/slack', min_severity => 'P1') AS slack;"

# ----------------------------------------------------------------- LISTEN
step "4. A psql session LISTENs on channel $CHANNEL; a bad migration drops consent_records"
# The listener: LISTEN, then short sleeps (psql prints notifications after
# each command) until the stop file appears; 100 s at most.
{
	echo "LISTEN $CHANNEL;"
	echo "\\! touch '$WORK/listening'"
	for ((i = 0; i < 400; i++)); do
		printf '%s\n' "SELECT pg_sleep(0.25);" \
			"\\set stop \`test -e '$WORK/stop' && echo true || echo false\`" \
			'\if :stop' '\q' '\endif'
	done
} >"$WORK/listener.sql"
chmod 644 "$WORK/listener.sql"
sg_as_pg env PGAPPNAME=slo_demo_listener "$PG_BINDIR/psql" -X -q -t -A \
	-h 127.0.0.1 -p "$PORT" -U postgres -d "$DB" -f "$WORK/listener.sql" \
	>"$WORK/listener.out" 2>&1 &
LISTENER_PID=$!
for ((i = 0; i < 50; i++)); do
	[[ -e "$WORK/listening" ]] && break
	sleep 0.1
done
[[ -e "$WORK/listening" ]] || die "the listening psql session did not start: $(cat "$WORK/listener.out")"
note "psql (pid $LISTENER_PID): LISTEN $CHANNEL;"
echo "    $DB=# \\i demo/break.sql"
grep -v '^--' "$DEMO/break.sql" | sed 's/^/    /'
psql_db -q -f "$DEMO/break.sql" || die "demo/break.sql failed"
BROKE_AT=$SECONDS
# a guard (issue 14): the check ran in the migration's transaction, so the P0 alert
# is already firing when the migration's COMMIT returns, before any pass
[[ "$(q "SELECT state FROM slo_status() WHERE name = 'nestsync_critical_tables'")" == firing ]] ||
	die "the guard did not page at the migration's commit"
note "guard: nestsync_critical_tables was firing as the migration's COMMIT returned"

if [[ "$MODE" == worker ]]; then
	note "waiting for the worker (naptime 500ms); nobody calls slo_run_checks()"
fi
wait_until "P0 nestsync_critical_tables firing, nestsync_consent_records pending" \
	"(SELECT state FROM slo_status() WHERE name = 'nestsync_critical_tables') = 'firing'
	 AND (SELECT state FROM slo_status() WHERE name = 'nestsync_consent_records') IN ('pending', 'firing')" ||
	{
		show_status
		die "the P0 alert did not fire within ${WAIT} s"
	}
sleep 0.5 # one listener round, so its notification is printed
show_notifications
show_status

wait_until "nestsync_consent_records firing after fail_after => 2" \
	"(SELECT state FROM slo_status() WHERE name = 'nestsync_consent_records') = 'firing'" ||
	{
		show_status
		die "nestsync_consent_records did not fire within ${WAIT} s"
	}
FIRED_IN=$((SECONDS - BROKE_AT))
sleep 0.5
show_notifications
show_status

# ----------------------------------------------------------------- blocked
step "4b. A migration that drops a PIPEDA consent column is refused (\"guard\": \"block\")"
echo "    $DB=# \\i demo/blocked.sql"
grep -v '^--' "$DEMO/blocked.sql" | sed 's/^/    /'
if psql_db -q -f "$DEMO/blocked.sql" >"$WORK/blocked.out" 2>&1; then
	die "the blocking guard let the migration through"
fi
sed 's/^/    /' "$WORK/blocked.out"
[[ "$(q "SELECT count(*) FROM pg_attribute WHERE attrelid = 'notification_preferences'::regclass
          AND attname IN ('marketing_consent_granted', 'digest_opt_in') AND NOT attisdropped")" == 1 ]] ||
	die "the blocked migration was not rolled back"
note "refused with SQLSTATE SG001; the whole migration rolled back (the column is still there)"

# ----------------------------------------------------------------- repair
step "5. The fix: consent_records restored (demo/repair.sql)"
echo "    $DB=# \\i demo/repair.sql"
psql_db -q -f "$DEMO/repair.sql" || die "demo/repair.sql failed"
wait_until "every alert resolved" "SELECT bool_and(state = 'ok') FROM slo_status()" ||
	{
		show_status
		die "the alerts did not resolve within ${WAIT} s"
	}
sleep 0.5
show_notifications
show_status
show "SELECT id, check_name, severity, state, fired_at::time(0) AS fired, resolved_at::time(0) AS resolved FROM slo_alert ORDER BY id;"

touch "$WORK/stop"
wait "$LISTENER_PID" 2>/dev/null
LISTENER_PID=

step "5b. Delivered: the same events at the local webhook receiver, and in Slack format"
if [[ "$MODE" == worker ]]; then
	wait_until "every delivery delivered" "SELECT bool_and(state = 'delivered') FROM slo_delivery" ||
		note "not every delivery was delivered within ${WAIT} s"
	show "SELECT d.id, t.name AS target, t.kind, d.event, d.severity, d.state, d.attempts, d.last_status FROM slo_delivery d JOIN slo_target t ON t.id = d.target_id ORDER BY d.id;"
	python3 - "$HOOKS" <<'PY' | sed 's/^/    /'
import json, sys
d = sys.argv[1]
for name, title in (("ops", "webhook body (first request)"), ("slack", "Slack message (first request)")):
    try:
        first = json.loads(open(f"{d}/{name}.jsonl").readline())
    except (OSError, ValueError):
        print(f"{title}: none received"); continue
    print(f"{title}: POST {first['path']}  Idempotency-Key: {first['headers'].get('Idempotency-Key')}")
    print(json.dumps(json.loads(first["body"]), indent=2))
PY
else
	note "no worker: deliveries stay queued (the worker sends them)"
fi
step "5c. HTTP probes of a local endpoint (the http kind): a JSON health endpoint and one answering 503"
show "SELECT slo_add_check('api_health', 'http', jsonb_build_object('url', 'http://127.0.0.1:$HP/json',
             'value_path', '\$.latency.p95', 'warn_above', 300, 'fail_above', 400,
             'assert', '\$.status == \"ok\"'), 'P1', '2 seconds') AS api_health,
       slo_add_check('auth_endpoint', 'http', jsonb_build_object('url', 'http://127.0.0.1:$HP/status/503'),
             'P2', '2 seconds') AS auth_endpoint;"
wait_until "both probes ran" "SELECT count(*) = 2 FROM slo_check_state s JOIN slo_check c ON c.id = s.check_id
                               WHERE c.name IN ('api_health', 'auth_endpoint') AND s.status IS NOT NULL" ||
	note "the probes did not run within ${WAIT} s"
show "SELECT name, kind, state, status, value, summary FROM slo_status() WHERE kind = 'http' ORDER BY name;"
kill "$HTTPD_PID" 2>/dev/null
wait "$HTTPD_PID" 2>/dev/null

step "Done"
if [[ "$MODE" == worker ]]; then
	note "path: slo_guard's background worker ran every check (no slo_run_checks() call)"
else
	note "path: FALLBACK: no working background worker; this script called slo_run_checks()"
fi
note "the P0 alert and the fail_after => 2 alert fired within ${FIRED_IN} s of the bad migration"
note "demo took $((SECONDS - START)) s; stopping and removing the throwaway cluster"
