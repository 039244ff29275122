#!/usr/bin/env bash
# The Debian package, built and used the way a DBA gets it (README "Install"):
#
#   bash scripts/package-test.sh
#
#   1. builds postgresql-NN-slo-guard with dpkg-buildpackage (pg_buildext,
#      debian/pgversions) from a clean copy of the checkout, and the 1.0
#      package from the commit that released 1.0 (git history needed);
#   2. runs lintian on both (errors fail; warnings are printed);
#   3. asks apt whether `apt install ./postgresql-15-slo-guard_*.deb` would
#      resolve on this machine (a simulation: nothing is installed);
#   4. lays out a throwaway root: a copy of PostgreSQL 15's own files with
#      every slo_guard file removed, then the 1.0 package unpacked into it;
#      starts a cluster from it with slo_guard preloaded, creates the extension
#      (1.0) and runs a check;
#   5. unpacks the new package (today's version) over it (what a package upgrade does to the
#      files), restarts, runs ALTER EXTENSION slo_guard UPDATE, and checks that
#      the database is at the new version, the old check is kept and runs, a new
#      one can be added, and the worker runs checks by itself;
#   6. checks that META.json, debian/changelog and slo_guard.control agree on
#      the version.
# Prints "package: ok" at the end and exits 0, or says what failed and exits 1.
# scripts/test.sh runs it as one test.
set -uo pipefail
exec </dev/null

# shellcheck source=scripts/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

# The commit that released 1.0 (README, "Upgrading"): the 1.0 package is built from it.
V10_COMMIT=62c9666
PKG_DEPS=(debhelper dpkg-dev fakeroot lintian postgresql-server-dev-all)

WORK=
DATA=
DONE=0
cleanup() {
	((DONE)) && return
	DONE=1
	[[ -n "$DATA" ]] && sg_cluster_stop "$DATA"
	if [[ -n "$WORK" && -d "$WORK" ]]; then
		if [[ "${KEEP_TMP:-0}" == 1 ]]; then echo "kept $WORK"; else rm -rf "$WORK"; fi
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
die() {
	echo "package: FAILED: $*" >&2
	[[ -n "$DATA" && -f "$WORK/server.log" ]] && tail -n 30 "$WORK/server.log" >&2
	exit 1
}

# --------------------------------------------------------------- packages
bash "$SG_ROOT/scripts/install-deps.sh" || die "scripts/install-deps.sh failed"
missing=()
for p in "${PKG_DEPS[@]}"; do
	[[ "$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null)" == "install ok installed" ]] || missing+=("$p")
done
if ((${#missing[@]})); then
	sg_say "installing ${missing[*]}"
	sg_as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
		install -y -qq --no-install-recommends "${missing[@]}" >/dev/null ||
		{ sg_as_root apt-get -o DPkg::Lock::Timeout=600 update -qq &&
			sg_as_root env DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=600 \
				install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; } ||
		die "could not install ${missing[*]}"
fi

WORK=$(sg_mktemp slo_guard_pkg) || die "mktemp"
VERSION=$(sed -n "s/^default_version *= *'\(.*\)'/\1/p" "$SG_ROOT/slo_guard.control")
[[ -n "$VERSION" ]] || die "no default_version in slo_guard.control"

# ---------------------------------------------------------- 6. one version
sg_say "version $VERSION (slo_guard.control)"
changelog_version=$(sed -n '1s/^[^ ]* (\([^)]*\)).*/\1/p' "$SG_ROOT/debian/changelog")
[[ "$changelog_version" == "$VERSION" ]] ||
	die "debian/changelog is at $changelog_version, slo_guard.control at $VERSION"
meta_version=$(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(m["version"]); assert m["provides"]["slo_guard"]["version"] == m["version"]' "$SG_ROOT/META.json") ||
	die "META.json is not valid (version, provides.slo_guard.version)"
meta_expected=$VERSION
[[ "$VERSION" =~ ^[0-9]+\.[0-9]+$ ]] && meta_expected=$VERSION.0 # PGXN: semantic versions
[[ "$meta_version" == "$meta_expected" ]] ||
	die "META.json is at $meta_version, slo_guard.control at $VERSION: expected $meta_expected (run: make META.json)"
sed "s/@METAVERSION@/$meta_expected/g" "$SG_ROOT/META.json.in" | cmp -s - "$SG_ROOT/META.json" ||
	die "META.json differs from what META.json.in gives (run: make META.json)"

# --------------------------------------------------------------- 1. build
# build_pkg SRCDIR NAME: dpkg-buildpackage in SRCDIR (a copy owned by postgres);
# the .deb lands next to it.
build_pkg() {
	local src=$1 name=$2
	sg_say "dpkg-buildpackage ($name)"
	if ! (cd "$src" && sg_as_pg dpkg-buildpackage -us -uc -b) >"$WORK/build-$name.log" 2>&1; then
		tail -n 40 "$WORK/build-$name.log" >&2
		die "dpkg-buildpackage failed for $name"
	fi
}
mkdir -p "$WORK/new" "$WORK/old"
chown "$SG_PG_USER:" "$WORK/new" "$WORK/old" 2>/dev/null
sg_copy_tree "$WORK/new/slo-guard" || die "could not copy the tree"
build_pkg "$WORK/new/slo-guard" "$VERSION"
NEW_DEB=$(ls "$WORK"/new/postgresql-15-slo-guard_"$VERSION"_*.deb 2>/dev/null | head -n 1)
[[ -f "$NEW_DEB" ]] || die "no postgresql-15-slo-guard_${VERSION}_*.deb built"

git -C "$SG_ROOT" rev-parse --verify -q "$V10_COMMIT^{commit}" >/dev/null ||
	die "the 1.0 commit $V10_COMMIT is not in this checkout's history (a shallow clone?)"
mkdir -p "$WORK/old/slo-guard"
git -C "$SG_ROOT" archive "$V10_COMMIT" | tar -C "$WORK/old/slo-guard" -xf - || die "git archive $V10_COMMIT"
# 1.0 had no debian/ directory: today's packaging with the 1.0 changelog entry on top.
cp -r "$SG_ROOT/debian" "$WORK/old/slo-guard/"
sed -n '/^slo-guard (1\.0)/,$p' "$SG_ROOT/debian/changelog" >"$WORK/old/slo-guard/debian/changelog"
chown -R "$SG_PG_USER:" "$WORK/old" 2>/dev/null
build_pkg "$WORK/old/slo-guard" 1.0
OLD_DEB=$(ls "$WORK"/old/postgresql-15-slo-guard_1.0_*.deb 2>/dev/null | head -n 1)
[[ -f "$OLD_DEB" ]] || die "no postgresql-15-slo-guard_1.0_*.deb built"

# What the package holds: the library, the control file, every install and upgrade script.
contents=$(dpkg-deb -c "$NEW_DEB")
for f in lib/slo_guard.so extension/slo_guard.control "extension/slo_guard--$VERSION.sql" \
	extension/slo_guard--1.0.sql extension/slo_guard--1.1.sql extension/slo_guard--1.0--1.1.sql; do
	grep -q "/15/$f\$" <<<"$contents" || die "the package lacks $f"
done
for f in "$SG_ROOT"/sql/slo_guard--*--*.sql; do
	grep -q "/15/extension/$(basename "$f")\$" <<<"$contents" || die "the package lacks $(basename "$f")"
done
grep -q "/usr/share/doc/postgresql-15-slo-guard/examples/postgres_exporter_queries.yaml\$" <<<"$contents" ||
	die "the package lacks the postgres_exporter queries file (examples)"
sg_say "the package holds the library, the control file, the exporter queries file and $(grep -c 'extension/.*\.sql$' <<<"$contents") SQL scripts"

# ------------------------------------------------------------- 2. lintian
# Errors fail. Known, explained warnings (README, "Debian package") are listed
# here; any other warning is printed.
for deb in "$NEW_DEB" "$OLD_DEB"; do
	lintian --no-tag-display-limit "$deb" >"$WORK/lintian.out" 2>&1
	if grep -q '^E:' "$WORK/lintian.out"; then
		cat "$WORK/lintian.out" >&2
		die "lintian reports errors for $(basename "$deb")"
	fi
	grep '^W:' "$WORK/lintian.out" | sed 's/^/    lintian: /'
done
sg_say "lintian: no errors"

# ------------------------------------------------- 3. apt would install it
if ((EUID == 0)); then
	if ! apt-get -s -o Debug::NoLocking=1 install "$NEW_DEB" >"$WORK/apt.out" 2>&1; then
		cat "$WORK/apt.out" >&2
		die "apt-get install $(basename "$NEW_DEB") would not resolve"
	fi
	sg_say "apt-get install ./$(basename "$NEW_DEB") resolves (simulated)"
fi

# -------------------------------------------------- 4. a throwaway root
ROOT=$WORK/root
mkdir -p "$ROOT/usr/lib/postgresql" "$ROOT/usr/share/postgresql"
cp -a /usr/lib/postgresql/15 "$ROOT/usr/lib/postgresql/"
cp -a /usr/share/postgresql/15 "$ROOT/usr/share/postgresql/"
# From the installed package files alone: nothing of a `make install`.
rm -rf "$ROOT"/usr/lib/postgresql/15/lib/slo_guard.so "$ROOT"/usr/lib/postgresql/15/lib/bitcode/slo_guard* \
	"$ROOT"/usr/share/postgresql/15/extension/slo_guard*
chown -R "$SG_PG_USER:" "$ROOT"
unpack() { sg_as_pg dpkg-deb -x "$1" "$ROOT" || die "dpkg-deb -x $1"; }
unpack "$OLD_DEB"
BIN=$ROOT/usr/lib/postgresql/15/bin
[[ "$("$BIN/pg_config" --sharedir)" == "$ROOT/usr/share/postgresql/15" ]] ||
	die "the throwaway root's pg_config points elsewhere: $("$BIN/pg_config" --sharedir)"

PORT=$(sg_free_port) || die "no free port"
DATA=$WORK/data
PG_BINDIR=$BIN sg_cluster_init "$DATA" "$PORT" \
	"shared_preload_libraries = 'slo_guard'" \
	"slo_guard.database = 'app'" \
	"slo_guard.naptime = 200ms" || die "initdb"
start() { PG_BINDIR=$BIN sg_cluster_start "$DATA" "$WORK/server.log" || die "the server did not start"; }
stop() { PG_BINDIR=$BIN sg_cluster_stop "$DATA"; }
q() { sg_as_pg "$BIN/psql" -X -q -At -v ON_ERROR_STOP=1 -h 127.0.0.1 -p "$PORT" -U postgres "$@"; }
start
q -d postgres -c "CREATE DATABASE app" || die "CREATE DATABASE"
q -d app -c "CREATE EXTENSION slo_guard" || die "CREATE EXTENSION from the 1.0 package"
[[ "$(q -d app -c "SELECT extversion FROM pg_extension WHERE extname = 'slo_guard'")" == 1.0 ]] ||
	die "the 1.0 package did not create version 1.0"
q -d app -c "SELECT slo_add_check('catalog_there', 'table_exists', '{\"tables\": [\"pg_catalog.pg_class\"]}')" >/dev/null ||
	die "slo_add_check on 1.0"
[[ "$(q -d app -c "SELECT status FROM slo_run_checks(false)")" == ok ]] || die "the check did not run ok on 1.0"
sg_say "1.0 package: CREATE EXTENSION and a check run"

# ---------------------------------------------------- 5. package upgrade
stop
unpack "$NEW_DEB"
start
q -d app -c "ALTER EXTENSION slo_guard UPDATE" || die "ALTER EXTENSION slo_guard UPDATE"
[[ "$(q -d app -c "SELECT extversion FROM pg_extension WHERE extname = 'slo_guard'")" == "$VERSION" ]] ||
	die "ALTER EXTENSION slo_guard UPDATE did not reach $VERSION"
q -d app -c "SELECT slo_add_check('namespace_there', 'table_exists', '{\"tables\": [\"pg_catalog.pg_namespace\"]}')" >/dev/null ||
	die "slo_add_check after the upgrade"
got=$(q -d app -c "SELECT string_agg(check_name || '=' || status, ',' ORDER BY check_name) FROM slo_run_checks(false)")
[[ "$got" == "catalog_there=ok,namespace_there=ok" ]] || die "after the upgrade the checks gave: $got"
# The worker (preloaded from the package's library) runs them by itself too.
before=$(q -d app -c "SELECT count(*) FROM slo_result")
q -d app -c "SELECT slo_alter_check('namespace_there', every => '1 second')" >/dev/null
for ((i = 0; i < 100; i++)); do
	now=$(q -d app -c "SELECT count(*) FROM slo_result")
	((now > before)) && break
	sleep 0.1
done
((now > before)) || die "the worker did not run a check within 10 s"
sg_say "package upgrade 1.0 -> $VERSION: ALTER EXTENSION UPDATE, old and new checks run, worker running"
stop
echo "package: ok"
