#!/usr/bin/env bash
# Run every benchmark in bench/ in turn: each bench/*.sh except this one, in
# name order, each with its own throwaway cluster. Then repeat the "RESULT ..."
# line each printed, and exit 1 if any of them failed.
#
# Usage (as root):  bash bench/run.sh [NAME...]
#   NAME  only these benchmarks (e.g. catalog_checks); default: all of them.
# Settings of each benchmark (BENCH_*) pass through the environment; see
# bench/README.md.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
self=$(basename "${BASH_SOURCE[0]}")

benches=()
if (($#)); then
	for name in "$@"; do
		name=${name%.sh}
		name=${name##*/}
		[[ -f "$here/$name.sh" && "$name.sh" != "$self" ]] || {
			echo "bench/run.sh: no benchmark bench/$name.sh" >&2
			exit 2
		}
		benches+=("$here/$name.sh")
	done
else
	for f in "$here"/*.sh; do
		[[ -f "$f" && "$(basename "$f")" != "$self" ]] && benches+=("$f")
	done
fi
((${#benches[@]})) || {
	echo "bench/run.sh: no benchmarks in $here" >&2
	exit 2
}

failed=()
results=()
for f in "${benches[@]}"; do
	name=$(basename "$f" .sh)
	printf '\n######## %s ########\n' "$name"
	log=$(mktemp /tmp/slo_bench_run.XXXXXX)
	bash "$f" 2>&1 | tee "$log"
	rc=${PIPESTATUS[0]}
	while IFS= read -r line; do results+=("$line"); done < <(grep '^RESULT ' "$log" || true)
	rm -f "$log"
	((rc == 0)) || failed+=("$name (exit $rc)")
done

printf '\n######## summary ########\n'
for r in "${results[@]}"; do echo "$r"; done
if ((${#failed[@]})); then
	printf 'FAILED: %s\n' "${failed[@]}"
	exit 1
fi
echo "all ${#benches[@]} benchmark(s) ran"
