#!/bin/bash
# Build the libFuzzer targets with clang (+ASan/UBSan) into build-fuzz/ and run each one.
# Usage: scripts/fuzz.sh [SECONDS per target, default 20]
#   Longer runs: scripts/fuzz.sh 3600   (corpora are kept in tests/fuzz/corpus/<target>)
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-20}
if [ ! -f build-fuzz/build.ninja ]; then
	CC=clang meson setup build-fuzz -Dfuzz=true -Db_sanitize=address,undefined \
		-Db_lundef=false -Dbuildtype=debugoptimized >/dev/null
fi
targets="fuzz_config fuzz_request fuzz_packet fuzz_model fuzz_k8s fuzz_kube fuzz_json"
ninja -C build-fuzz $(printf "tests/fuzz/%s " $targets)
for t in $targets; do
	corpus=tests/fuzz/corpus/$t
	mkdir -p "$corpus"
	echo "fuzz: $t for ${secs}s (seeds: tests/fuzz/seeds/$t)"
	# libFuzzer exits non-zero (and writes crash-*/leak-*/timeout-*) on a finding.
	if ! ./build-fuzz/tests/fuzz/$t -max_total_time="$secs" -rss_limit_mb=4096 \
		-print_final_stats=1 -artifact_prefix=build-fuzz/ "$corpus" "tests/fuzz/seeds/$t" \
		>"build-fuzz/$t.log" 2>&1; then
		tail -40 "build-fuzz/$t.log" >&2
		echo "fuzz: $t FAILED (artifacts in build-fuzz/)" >&2
		exit 1
	fi
	grep -E "^stat::number_of_executed_units|^Done" "build-fuzz/$t.log" || true
done
