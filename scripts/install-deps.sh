#!/usr/bin/env bash
# Install what slo_guard needs to build, test and demo on Debian 12 (bookworm),
# from Debian's own archive only. Idempotent: every package is checked with
# dpkg first, `apt-get update` runs at most once and only when something is
# missing, and nothing is printed when everything is already there.
#
# Usage: scripts/install-deps.sh        (as root, or as a user with sudo)
set -euo pipefail

# Debian names. postgresql-contrib-15 is not a real package on bookworm: it is
# a virtual one provided by postgresql-15 itself (pg_stat_statements ships in
# the server package), so it is not listed here; see the check below.
PACKAGES=(
	postgresql-15                          # server, psql, initdb, pg_ctl
	postgresql-server-dev-15               # PGXS, server headers
	postgresql-15-cron                     # real pg_cron for scheduling tests
	postgresql-15-pgtap                    # pgTAP extension
	libtap-parser-sourcehandler-pgtap-perl # pg_prove
	libipc-run-perl                        # PostgreSQL::Test::Cluster (Perl TAP tests)
	libcurl4-openssl-dev                   # libcurl + curl-config (webhooks)
	check-postgres                         # benchmark baseline
	prometheus                             # promtool: slo_metrics() output is checked with it
	prometheus-postgres-exporter           # the shipped contrib/postgres_exporter_queries.yaml is tested with it
	prometheus-alertmanager                # a real Alertmanager receives the alertmanager target's alerts
	python3                                # local HTTP/SMTP receivers of the tests and the demo
	python3-aiosmtpd                       # a real SMTP server receives the email target's mail
	valgrind                               # scripts/valgrind.sh (issue 15), run before each release
	build-essential make gcc
)

missing=()
for pkg in "${PACKAGES[@]}"; do
	# "install ok installed" only: a package that was removed but not purged
	# ("deinstall ok config-files") still answers dpkg -s successfully.
	status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
	[[ "$status" == "install ok installed" ]] || missing+=("$pkg")
done

# contrib modules (pg_stat_statements for the slow_queries kind): part of
# postgresql-15 on bookworm. Should a future archive split them out again,
# ask apt for the virtual name, which it resolves to the real provider.
if [[ ! " ${missing[*]} " == *" postgresql-15 "* ]] &&
	[[ ! -e /usr/lib/postgresql/15/lib/pg_stat_statements.so ]]; then
	missing+=(postgresql-contrib-15)
fi

((${#missing[@]} == 0)) && exit 0

SUDO=()
if ((EUID != 0)); then
	command -v sudo >/dev/null 2>&1 || {
		echo "install-deps: missing ${missing[*]}; run this script as root" >&2
		exit 1
	}
	SUDO=(sudo env DEBIAN_FRONTEND=noninteractive)
fi

export DEBIAN_FRONTEND=noninteractive
# Wait for a concurrent apt/dpkg (another script on the same machine) instead
# of failing at once on its lock.
APT_OPTS=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)

echo "install-deps: installing ${missing[*]}"
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" update -qq
"${SUDO[@]}" apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends \
	"${missing[@]}" >/dev/null
echo "install-deps: done"
