#!/bin/bash
# sluiced stops promptly with many Services and a large conntrack table: 8,000 Services
# (4,000 UDP, 10 backends each, perf/services_objects.py) applied with `sluicectl apply -f`
# on one node with "conntrack": {"size": 262144}, then SIGTERM: sluiced must exit cleanly
# within 5 s. Before the fix, deleting every Service at shutdown flushed the conntrack
# entries of each UDP backend, a walk of the whole table per backend of every UDP Service
# (40,000 walks here: ~18 s, where 20,000 took 9 s; minutes for 10,000 Services, hours for
# 100,000).
# Usage (root, repo root): SL_BUILD=build bash tests/integration/services_stop.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slst-} SL_RUN=${SL_RUN:-/tmp/slst-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 1024}
source scripts/lib/topo.sh
source scripts/lib/check.sh
trap 'topo_down; rm -rf "$SL_RUN"' EXIT
topo_up
mkdir -p "$SL_RUN"
node_config 1 | python3 -c '
import json, sys
c = json.load(sys.stdin)
c["conntrack"] = {"size": 262144}
print(json.dumps(c))' >"$SL_RUN/n1.json"
node_start 1 "$SL_RUN/n1.json" || exit 1

apply_all() {
	local f
	for f in $(python3 perf/services_objects.py k8s 8000 "$SL_RUN/svc"); do
		ctl 1 apply -f "$f" >/dev/null || return 1
	done
}
frontends() { ctl 1 -o json show stats | python3 -c 'import json,sys; print(json.load(sys.stdin)["conntrack"]["frontends"])'; }
check "apply 8,000 Services (4,000 UDP, 4,000 TCP, 10 backends each)" apply_all
check "... 8,000 frontends in the Service table" test "$(frontends)" = 8000
t0=$SECONDS
SL_STOP_SECONDS=5 check "SIGTERM: sluiced exits with status 0 within 5 s" node_stop 1
note "stopped in $((SECONDS - t0)) s"
check_summary
