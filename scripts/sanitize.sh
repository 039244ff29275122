#!/usr/bin/env bash
# slo_guard built with -fsanitize=undefined (issue 15); run it before each release:
#
#   bash scripts/sanitize.sh                  # the documented subset (~4 min)
#   SLO_TEST_ONLY='.' bash scripts/sanitize.sh   # the whole suite
#
# Runs scripts/test.sh with the module compiled and linked with
# -fsanitize=undefined -fno-sanitize-recover=all (plus float-divide-by-zero and
# float-cast-overflow): any undefined behaviour in slo_guard's code (signed
# overflow, a bad shift, misaligned access, an out-of-range float to integer
# conversion, ...) aborts the backend or worker that hit it, which fails the
# test that was running; the server logs are then searched for UBSan's
# "runtime error:" lines as well. The default subset: every pg_regress and
# pgTAP test, the random-input test, the fault tests and the worker's TAP tests.
#
# Why not -fsanitize=address: Debian's postgres is not built with ASan, so the
# module's ASan runtime would have to be LD_PRELOADed into the postmaster (and
# through pg_ctl, runuser and PostgreSQL::Test::Cluster into every server the
# tests start), and even then PostgreSQL 15 does not tell ASan about its memory
# contexts (palloc'd chunks live inside big malloc'd blocks), so it would catch
# almost nothing in slo_guard's palloc-based code; scripts/valgrind.sh covers
# memory errors instead.
set -uo pipefail
exec </dev/null
cd "$(dirname "${BASH_SOURCE[0]}")/.." || exit 2

export SLO_EXTRA_CFLAGS='-fsanitize=undefined -fsanitize=float-divide-by-zero -fsanitize=float-cast-overflow -fno-sanitize-recover=all -fno-omit-frame-pointer'
export SLO_TEST_ONLY=${SLO_TEST_ONLY:-'^regress/|^test/pgtap/|t/00[1-5]_|t/01[01]_|t/4[01][0-9]_|t/90[0-9]_'}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1}
export KEEP_TMP=1
out=$(mktemp /tmp/slo_guard_sanitize.XXXXXX.log)
bash scripts/test.sh 2>&1 | tee "$out"
rc=${PIPESTATUS[0]}
work=$(sed -n 's/^==> kept work dir //p' "$out" | tail -n 1)
ub=0
if [[ -n "$work" && -d "$work" ]]; then
	# the servers' logs only (the copied sources mention the phrase too)
	grep -rah --include='*.log' 'runtime error:' "$work" 2>/dev/null | sort | uniq -c >"$out.ub"
	ub=$(wc -l <"$out.ub")
	cat "$out.ub"
	rm -f "$out.ub"
	rm -rf "$work"
fi
rm -f "$out"
echo "sanitize: UBSan runtime errors: $ub; test command exit status: $rc"
((rc == 0 && ub == 0))
