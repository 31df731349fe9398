#!/bin/bash
# Benchmark: what pod churn costs the control thread (issue 9's "before" figures).
# One sluiced (one worker) in a namespace; N pods added, then deleted, one API request each
# (sluicectl), as the CNI plugin does. Pods are vhost-user in server mode (sluiced listens on
# a socket per pod; nothing connects), so no veth or namespace per pod is needed and the
# figures are the control plane's own: request handling, FIB and next hops, port tables,
# RCU grace periods. Prints, for adds and for deletes: wall time, the time requests held the
# control thread's loop (`show stats` api.total_request_ms), RCU grace periods waited for
# and their total wait (`show stats` rcu). Writes perf/results/control-<time>.json.
# Usage: sudo perf/control_bench.sh [--pods N] [--no-state] [--parallel P]
#   N <= 1000 (pods with a port on one node); --no-state runs sluiced with --state none, to
#   show what saving the state costs (a journal line + fdatasync per change, the snapshot
#   rewritten when the journal would outgrow it);
#   --parallel P keeps P requests in flight (as kubelet's concurrent CNI ADDs do): changes
#   that arrive together share one state save (`show stats` api.saves).
set -euo pipefail
cd "$(dirname "$0")/.."
N=1000
STATE_ARGS=()
PAR=1
while [ $# -gt 0 ]; do
	case $1 in
	--pods) N=$2; shift 2 ;;
	--no-state) STATE_ARGS=(--state none); shift ;;
	--parallel) PAR=$2; shift 2 ;;
	*) echo "usage: $0 [--pods N] [--no-state] [--parallel P]" >&2; exit 2 ;;
	esac
done
B=${SL_BUILD:-build}
P=slcb
RUN=$(mktemp -d /tmp/$P-XXXX)
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
mkdir -p "$OUT"
pid=
cleanup() {
	[ -n "$pid" ] && { kill -TERM "$pid" 2>/dev/null || true; wait "$pid" 2>/dev/null || true; }
	ip netns del $P-n1 2>/dev/null || true
	rm -rf "$RUN"
}
trap cleanup EXIT
[ -x "$B/control/sluiced" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }

ip netns add $P-n1
ip -n $P-n1 link add sl-up0 type veth peer name sl-up1
ip -n $P-n1 link set sl-up0 up
ip -n $P-n1 link set sl-up1 up
cat >"$RUN/n1.json" <<JSON
{"node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.0.0/20",
          "cluster_cidr": "10.244.0.0/16"},
 "uplink": {"devargs": "net_af_packet0,iface=sl-up0"},
 "host": {"enabled": false}}
JSON
ip netns exec $P-n1 "$B/control/sluiced" -c "$RUN/n1.json" -s "$RUN/n1.sock" "${STATE_ARGS[@]}" -- -l 0,1 \
	--main-lcore 0 --no-pci --no-huge -m 512 --file-prefix $P-n1 --log-level=lib.eal:error \
	>"$RUN/sluiced.log" 2>&1 &
pid=$!
ctl() { "$B/control/cli/sluicectl" -s "$RUN/n1.sock" "$@"; }
for _ in $(seq 100); do ctl version >/dev/null 2>&1 && break; sleep 0.1; done
stats() { ctl -o json show stats | python3 -c "
import json, sys
s = json.load(sys.stdin)
print(s['api']['total_request_ms'], s['rcu']['grace_periods'], s['rcu']['wait_ms'], s['api']['saves'])"; }
ip_of() { echo "10.244.$(( ($1 + 2) / 256 )).$(( ($1 + 2) % 256 ))"; }
mac_of() { printf '02:cb:00:00:%02x:%02x' $(( $1 / 256 )) $(( $1 % 256 )); }

phase() { # phase NAME VERB: N requests, then the deltas
	local name=$1 verb=$2 t0 t1 s0 s1 i
	s0=$(stats)
	t0=$(date +%s%N)
	for ((i = 0; i < N; i++)); do
		if [ "$verb" = add ]; then
			echo "pod add name=p$i interface=vhost-user vhost_mode=server socket=$RUN/v$i.sock ip=$(ip_of $i) mac=$(mac_of $i)"
		else
			echo "pod del name=p$i"
		fi
	done | xargs -P "$PAR" -L 1 "$B/control/cli/sluicectl" -s "$RUN/n1.sock" >/dev/null
	echo "  $name: $N/$N" >&2
	t1=$(date +%s%N)
	s1=$(stats)
	python3 - "$name" "$N" "$((t1 - t0))" "$s0" "$s1" <<'PY'
import json, sys
name, n, wall_ns = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
a = [float(x) for x in sys.argv[4].split()]
b = [float(x) for x in sys.argv[5].split()]
r = {"phase": name, "pods": n, "wall_s": wall_ns / 1e9,
     "control_thread_ms": b[0] - a[0], "grace_periods": int(b[1] - a[1]),
     "grace_wait_ms": b[2] - a[2], "state_saves": int(b[3] - a[3])}
r["control_ms_per_pod"] = r["control_thread_ms"] / n
r["grace_periods_per_pod"] = r["grace_periods"] / n
print(json.dumps(r))
PY
}
echo "control_bench: $N vhost-user (server mode) pods, one sluicectl request each" >&2
add=$(phase add add)
[ "$(ctl -o json show pods | grep -c '"socket\|"ifname"')" -ge 1 ] || { echo "no pods listed" >&2; exit 1; }
del=$(phase delete del)
python3 - "$add" "$del" "$OUT/control-$STAMP.json" "$PAR" <<'PY'
import json, sys
rows = [json.loads(sys.argv[1]), json.loads(sys.argv[2])]
json.dump({"scenario": "pod churn through the API, vhost-user server-mode pods",
           "parallel": int(sys.argv[4]), "phases": rows},
          open(sys.argv[3], "w"), indent=2)
print(f"{'phase':7} {'pods':>5} {'wall s':>7} {'ctl-thread ms':>13} {'ms/pod':>7} {'grace periods':>13} {'per pod':>7} {'grace wait ms':>13} {'saves':>6}")
for r in rows:
    print(f"{r['phase']:7} {r['pods']:5} {r['wall_s']:7.2f} {r['control_thread_ms']:13.1f} "
          f"{r['control_ms_per_pod']:7.2f} {r['grace_periods']:13} {r['grace_periods_per_pod']:7.2f} "
          f"{r['grace_wait_ms']:13.1f} {r['state_saves']:6}")
print(f"results: {sys.argv[3]}")
PY
