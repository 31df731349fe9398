#!/bin/bash
# Benchmark: pod -> pod UDP throughput with 0, 100, 1,000 and 10,000 NetworkPolicies (10
# rules each) selecting both sender and receiver, through sluice and through the kernel with
# the same policies as iptables rules (the way iptables-based CNIs compile them), in one run,
# same generator, same pods:
#   sluice    sluiced (one worker), the two pods on AF_XDP; Namespace, Pods and policies
#             applied with `sluicectl apply -f` (perf/netpol_objects.py k8s)
#   iptables  a kernel node namespace routing the two pods' veths (Calico-style /32 routes),
#             filter FORWARD -> per-pod chains -> per-policy chains (perf/netpol_objects.py
#             iptables; iptables-restore, iptables 1.8.9 nf_tables backend)
#
#   [$P-pod] client 10.244.1.2  eth0 ==veth== p1a [$P-sl:  sluiced] p1b ==veth== sink0 [$P-sink]
#     sluice-gen tx             eth1 ==veth== p1a [$P-ipt: kernel ] p1b ==veth== sink1  server
#                                                                           10.244.1.3 (sluice-gen rx)
# Traffic: sluice-gen, 64-byte UDP frames to 10.244.1.3:80, unpaced, --flows source ports
# (one-way flows: every packet is a new or unreplied flow for the kernel's conntrack, so
# iptables walks its chains for each). The allowing rule is in the last policy (see
# netpol_objects.py): a linear classifier walks every rule. For N > 0 each path is also
# checked to enforce: UDP to port 81 (no rule allows it) must not arrive ("enforced").
# Cores: the DUT's forwarding (sluiced's worker; the kernel router's receive processing,
# moved there with RPS) on core 1, generator and control on core 0. Mpps received, medians
# over --reps.
#
# Usage: sudo perf/netpol_bench.sh [--quick] [--counts 0,100,1000,10000] [--kernel-max N]
#          [--reps 3] [--duration 3] [--flows 1024]
#   --quick: 1 repetition of 2 s
#   --kernel-max N: the iptables path runs for counts <= N only (skip reported)
# Environment: SL_BENCH_PATHS="sluice iptables", SL_BENCH_PREFIX (default slnpb), KEEP=1,
#   SL_BUILD (default build).
# Writes perf/results/netpol-<time>.json and .png; prints the ratios (target: sluice
# 10,000 / 0 >= 0.9); exit 1 when the target is missed or a path did not enforce, 2 on a
# set-up error.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=0,100,1000,10000 KMAX=10000 REPS=3 DURATION=3 WARMUP=1 FLOWS=1024 QUICK=0
usage() { sed -n '/^# Usage/,/^# Writes/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 REPS=1 DURATION=2; shift ;;
	--counts) COUNTS=$2; shift 2 ;;
	--kernel-max) KMAX=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--flows) FLOWS=$2; shift 2 ;;
	*) usage ;;
	esac
done
source scripts/lib/eal.sh
P=${SL_BENCH_PREFIX:-slnpb}
PATHS=${SL_BENCH_PATHS:-sluice iptables}
B=${SL_BUILD:-build}
GEN_MEM=$(sl_eal_mem)
SL_MEM="--no-huge -m 1024"
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d "/tmp/$P-XXXX")
mkdir -p "$OUT"
GW_MAC=02:5c:00:00:00:01
FWD_CORE_MASK=2 # core 1
T0=$(date +%s)
SL_PID=""

cleanup() {
	sluice_stop
	for n in pod sl ipt sink; do ip netns del "$P-$n" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -rf /var/run/dpdk/$P-gen /var/run/dpdk/$P-sl
}
trap cleanup EXIT

nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }
now() { date +%s.%N; }
say() { echo "[$(( $(date +%s) - T0 ))s] $*"; }
path_if() { case $1 in sluice) echo 0 ;; iptables) echo 1 ;; esac; }
path_ns() { case $1 in sluice) echo sl ;; iptables) echo ipt ;; esac; }

topology() {
	for n in pod sl ipt sink; do
		ip netns del "$P-$n" 2>/dev/null || true
		ip netns add "$P-$n"
		nsx $n ip link set lo up
		nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	for path in sluice iptables; do
		local i d
		i=$(path_if $path) d=$(path_ns $path)
		ip link add "eth$i" netns $P-pod type veth peer name p1a netns "$P-$d"
		ip link add "sink$i" netns $P-sink type veth peer name p1b netns "$P-$d"
		for l in "pod eth$i" "sink sink$i" "$d p1a" "$d p1b"; do
			set -- $l
			nsx "$1" ip link set "$2" up
		done
		nsx pod ethtool -K "eth$i" tx off >/dev/null
		nsx sink ethtool -K "sink$i" tx off >/dev/null
	done
	# sluiced needs an uplink: a veth to nowhere (nothing here crosses nodes)
	ip link add sl-up0 netns $P-sl type veth peer name ul0 netns $P-sink
	nsx sl ip link set sl-up0 up
	nsx sink ip link set ul0 up
	# the kernel node: Calico-style /32 routes to the pods' veths, static neighbours
	nsx ipt sysctl -qw net.ipv4.ip_forward=1
	nsx ipt sysctl -qw net.ipv4.conf.all.rp_filter=0
	nsx ipt ip addr add 10.244.1.1/32 dev p1a
	nsx ipt ip route add 10.244.1.2/32 dev p1a
	nsx ipt ip route add 10.244.1.3/32 dev p1b
	nsx ipt ip neigh replace 10.244.1.2 lladdr "$(mac_of pod eth1)" dev p1a nud permanent
	nsx ipt ip neigh replace 10.244.1.3 lladdr "$(mac_of sink sink1)" dev p1b nud permanent
	nsx ipt sh -c "echo $FWD_CORE_MASK > /sys/class/net/p1a/queues/rx-0/rps_cpus; echo $FWD_CORE_MASK > /sys/class/net/p1b/queues/rx-0/rps_cpus"
}

sluice_stop() {
	[ -n "$SL_PID" ] || return 0
	kill -TERM "$SL_PID" 2>/dev/null || true
	for _ in $(seq 600); do kill -0 "$SL_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$SL_PID" 2>/dev/null && { say "! sluiced still running 60 s after SIGTERM: SIGKILLed"; kill -KILL "$SL_PID"; }
	wait "$SL_PID" 2>/dev/null || true
	SL_PID=""
}
ctl() { "$B/control/cli/sluicectl" -s "$RUN/sl.sock" "$@"; }

# sluice_load N: a fresh sluiced, the objects applied; one line in loads.jsonl.
sluice_load() {
	local n=$1 t0 t1 files=() f refused="" rss0 rss1
	sluice_stop
	cat >"$RUN/sl.json" <<JSON
{
  "node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24",
           "cluster_cidr": "10.244.0.0/16", "gateway_mac": "$GW_MAC"},
  "uplink": {"devargs": "net_af_xdp0,iface=sl-up0", "mtu": 1500},
  "host": {"enabled": false},
  "conntrack": {"size": 262144},
  "pods": [{"name": "client", "namespace": "bench", "ip": "10.244.1.2", "mac": "$(mac_of pod eth0)", "ifname": "p1a"},
           {"name": "server", "namespace": "bench", "ip": "10.244.1.3", "mac": "$(mac_of sink sink0)", "ifname": "p1b"}]
}
JSON
	rm -f "$RUN/sl.sock"
	ip netns exec $P-sl "$B/control/sluiced" -c "$RUN/sl.json" -s "$RUN/sl.sock" -- -l 0,1 \
		--main-lcore 0 --no-pci --file-prefix $P-sl $SL_MEM --log-level=lib.eal:error \
		>>"$RUN/sluiced.log" 2>&1 &
	SL_PID=$!
	for _ in $(seq 100); do [ -S "$RUN/sl.sock" ] && ctl version >/dev/null 2>&1 && break; sleep 0.1; done
	ctl version >/dev/null || { echo "sluiced did not start:"; tail "$RUN/sluiced.log"; exit 2; }
	mapfile -t files < <(python3 perf/netpol_objects.py k8s "$n" "$RUN/k8s")
	rss0=$(awk '/^VmRSS:/ {print $2}' "/proc/$SL_PID/status")
	t0=$(now)
	for f in "${files[@]}"; do
		if ! ctl apply -f "$f" >"$RUN/apply.out" 2>&1; then
			refused=$(tail -n1 "$RUN/apply.out")
			break
		fi
	done
	t1=$(now)
	# The apply returns once the model has the objects; the classifier is compiled and
	# published after it (a 5 ms batching timer, then the rte_acl build). Measure only once
	# show stats' policy object (rules, generation, publishes) is non-empty and unchanged
	# over 3 polls 0.1 s apart (at most 120 s): "ready_s" is apply start -> that.
	local ready="" last="" same=0 cur
	if [ "$n" -gt 0 ] && [ -z "$refused" ]; then
		for _ in $(seq 1200); do
			cur=$(ctl -o json show stats 2>/dev/null | python3 -c 'import json, sys
p = json.load(sys.stdin).get("policy") or {}
r = p.get("rules_ingress", 0) + p.get("rules_egress", 0)
print("%s/%s/%s" % (r, p.get("generation"), p.get("publishes")) if r else "")' 2>/dev/null)
			if [ -n "$cur" ] && [ "$cur" = "$last" ]; then
				same=$((same + 1))
				[ "$same" -ge 2 ] && { ready=$(now); break; }
			else
				same=0
			fi
			last=$cur
			sleep 0.1
		done
		[ -n "$ready" ] || say "! sluice: the policy classifier did not settle within 120 s (last: $last)"
	fi
	rss1=$(awk '/^VmRSS:/ {print $2}' "/proc/$SL_PID/status")
	rm -f "${files[@]}"
	ctl -o json show stats >"$RUN/stats-load-$n.json" 2>/dev/null || true
	python3 -c 'import json, sys
n, t0, t1, ready, r0, r1, refused, stats = sys.argv[1:]
try:
    pol = json.load(open(stats)).get("policy")
except (OSError, ValueError):
    pol = None
print(json.dumps({"count": int(n), "path": "sluice", "load_s": round(float(t1) - float(t0), 3),
                  "ready_s": round(float(ready) - float(t0) - 0.2, 3) if ready else None,
                  "mem_kb": int(r1) - int(r0), "loaded": not refused, "refused": refused or None,
                  "policy_stats": pol}))' \
		"$n" "$t0" "$t1" "$ready" "$rss0" "$rss1" "$refused" "$RUN/stats-load-$n.json" >>"$RUN/loads.jsonl"
	say "sluice: $(tail -n1 "$RUN/loads.jsonl")"
}

kernel_load() {
	local n=$1 t1 t2
	nsx ipt iptables -F; nsx ipt iptables -X
	nsx ipt conntrack -F >/dev/null 2>&1 || true
	python3 perf/netpol_objects.py iptables "$n" >"$RUN/rules.txt"
	t1=$(now)
	nsx ipt iptables-restore <"$RUN/rules.txt"
	t2=$(now)
	echo "{\"count\": $n, \"path\": \"iptables\", \"load_s\": $(python3 -c "print(round($t2 - $t1, 3))"), \"loaded\": true, \"rules_lines\": $(wc -l <"$RUN/rules.txt")}" >>"$RUN/loads.jsonl"
	say "iptables: $(tail -n1 "$RUN/loads.jsonl")"
	rm -f "$RUN/rules.txt"
}

# gen PATH N REP PORT KIND: sluice-gen through PATH to 10.244.1.3:PORT; one line in runs.jsonl.
gen() {
	local path=$1 n=$2 rep=$3 port=$4 kind=$5 i dmac dur=$DURATION
	i=$(path_if "$path")
	case $path in sluice) dmac=$GW_MAC ;; *) dmac=$(mac_of ipt p1a) ;; esac
	[ "$kind" = deny ] && dur=1
	rm -f "$RUN/gen.json"
	taskset -c 0 "$B/perf/sluice-gen" --no-pci -l 0 --file-prefix $P-gen $GEN_MEM --log-level=lib.eal:error \
		-- --tx-port "$P-pod:net_af_xdp10,iface=eth$i" --rx-port "$P-sink:net_af_xdp11,iface=sink$i" \
		--src-mac "$(mac_of pod "eth$i")" --dst-mac "$dmac" --src-ip 10.244.1.2 --dst-ip 10.244.1.3 \
		--dst-port "$port" --flows "$FLOWS" --size 64 --duration "$dur" --warmup "$WARMUP" --quiet \
		--label "$path-$n" --json "$RUN/gen.json" >"$RUN/gen.log" 2>&1 ||
		{ echo "sluice-gen failed:"; tail -n 5 "$RUN/gen.log"; }
	say "  $kind $path n=$n rep $rep: $(python3 - "$path" "$n" "$rep" "$kind" "$RUN/gen.json" 2>&1 >>"$RUN/runs.jsonl" <<'PY'
import json, sys
path, n, rep, kind, f = sys.argv[1:]
try:
    g = json.load(open(f))
except (OSError, ValueError):
    g = {}
print(json.dumps({"count": int(n), "path": path, "kind": kind, "rep": int(rep),
                  "mpps": round(g.get("rx_pps", 0) / 1e6, 4), "tx_mpps": round(g.get("tx_pps", 0) / 1e6, 4),
                  "rx_packets": g.get("rx_packets"), "loss_pct": g.get("loss_pct")}))
print("%.3f Mpps received (%.3f sent)" % (g.get("rx_pps", 0) / 1e6, g.get("tx_pps", 0) / 1e6), file=sys.stderr)
PY
)"
}

[ -x "$B/perf/sluice-gen" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
for t in iptables-restore conntrack; do command -v $t >/dev/null || { echo "$t missing" >&2; exit 2; }; done
say "netpol_bench: counts $COUNTS (10 rules each), iptables up to $KMAX, $REPS repetition(s) of ${DURATION}s, $FLOWS flows, paths: $PATHS; $(nproc) cores"
topology
: >"$RUN/loads.jsonl"
: >"$RUN/runs.jsonl"
for n in ${COUNTS//,/ }; do
	say "=== $n policies"
	active=()
	for path in $PATHS; do
		if [ "$path" = sluice ]; then
			sluice_load "$n"; active+=(sluice)
		elif [ "$n" -le "$KMAX" ]; then
			kernel_load "$n"; active+=(iptables)
		else
			echo "{\"count\": $n, \"path\": \"$path\", \"skipped\": \"above --kernel-max $KMAX\"}" >>"$RUN/loads.jsonl"
			say "$path: skipped at $n (above --kernel-max $KMAX)"
		fi
	done
	for ((rep = 1; rep <= REPS; rep++)); do
		order=("${active[@]:$(( (rep - 1) % ${#active[@]} ))}" "${active[@]:0:$(( (rep - 1) % ${#active[@]} ))}")
		for path in "${order[@]}"; do gen "$path" "$n" "$rep" 80 allow; done
	done
	if [ "$n" -gt 0 ]; then
		for path in "${active[@]}"; do gen "$path" "$n" 1 81 deny; done
	fi
	[ -z "$SL_PID" ] || ctl -o json show stats >"$RUN/stats-$n.json" 2>/dev/null || true
done
sluice_stop
nsx ipt iptables -F 2>/dev/null || true
nsx ipt iptables -X 2>/dev/null || true

rc=0
python3 - "$RUN" "$OUT/netpol-$STAMP.json" "$COUNTS" "$REPS" "$DURATION" "$FLOWS" "$QUICK" <<'PY' || rc=1
import json, statistics, sys
run, out, counts, reps, dur, flows, quick = sys.argv[1:]
loads = [json.loads(l) for l in open(run + "/loads.jsonl") if l.strip()]
runs = [json.loads(l) for l in open(run + "/runs.jsonl") if l.strip()]
res, ok = {}, True
for n in [int(c) for c in counts.split(",")]:
    row = {}
    for path in ("sluice", "iptables"):
        ld = next((l for l in loads if l["count"] == n and l["path"] == path), None)
        if ld is None:
            continue
        if "skipped" in ld:
            row[path] = {"skipped": ld["skipped"]}
            continue
        a = [r["mpps"] for r in runs if r["count"] == n and r["path"] == path and r["kind"] == "allow"]
        d = [r for r in runs if r["count"] == n and r["path"] == path and r["kind"] == "deny"]
        row[path] = {"mpps": statistics.median(a) if a else 0, "max_mpps": max(a) if a else 0,
                     "all_mpps": a, "load_s": ld["load_s"], "ready_s": ld.get("ready_s"),
                     "policy_stats": ld.get("policy_stats"),
                     "loaded": ld.get("loaded", True), "refused": ld.get("refused"),
                     "mem_kb": ld.get("mem_kb"), "rules_lines": ld.get("rules_lines")}
        if d:
            row[path]["deny_rx_packets"] = d[0].get("rx_packets")
            row[path]["enforced"] = (d[0].get("rx_packets") or 0) == 0
    res[str(n)] = row
print("\nmedians over the repetitions (best of them in parentheses); * not loaded, ! not enforced")
print("%-8s %-20s %-20s %-10s %-10s" % ("policies", "sluice Mpps", "iptables Mpps", "sluice/0", "ipt/0"))
base = {p: res.get("0", {}).get(p, {}).get("mpps") for p in ("sluice", "iptables")}
ratios = {}
for n, row in res.items():
    cells = []
    for p in ("sluice", "iptables"):
        r = row.get(p, {})
        if "mpps" in r and base.get(p):
            ratios.setdefault(p, {})[n] = round(r["mpps"] / base[p], 3)
    def f(p):
        r = row.get(p, {})
        if "mpps" not in r:
            return "skipped"
        s = "%.3f (%.3f)" % (r["mpps"], r["max_mpps"])
        if not r.get("loaded", True):
            s += "*"
        if r.get("enforced") is False:
            s += "!"
        return s
    print("%-8s %-20s %-20s %-10s %-10s" % (n, f("sluice"), f("iptables"),
          ratios.get("sluice", {}).get(n, "-"), ratios.get("iptables", {}).get(n, "-")))
notes = []
for n, row in res.items():
    for p, r in row.items():
        if r.get("loaded") is False:
            notes.append("* %s at %s: policies NOT loaded (%s): the figure is the unfiltered path" % (p, n, r.get("refused")))
            ok = False
        if r.get("enforced") is False:
            notes.append("! %s at %s: NOT enforced: %s packets to the denied port 81 arrived" % (p, n, r.get("deny_rx_packets")))
            ok = False
target = ratios.get("sluice", {}).get("10000")
s10k = res.get("10000", {}).get("sluice", {})
if target is not None and (not s10k.get("loaded", True) or s10k.get("enforced") is False):
    print("sluice 10,000 / 0 policies = %.3f: NOT A RESULT (the policies were not loaded or not enforced)" % target)
elif target is not None:
    print("sluice 10,000 / 0 policies = %.3f (target >= 0.9): %s" % (target, "met" if target >= 0.9 else "MISSED"))
    ok = ok and target >= 0.9
for n, row in res.items():
    r = row.get("sluice", {})
    if r.get("ready_s") is not None:
        ps = r.get("policy_stats") or {}
        print("sluice %s policies: apply %.2f s, classifier ready %.2f s after the apply started; "
              "last publish %s ms, rules in/eg %s/%s, rte_acl %s bytes" % (
                  n, r["load_s"], r["ready_s"], ps.get("last_publish_ms"), ps.get("rules_ingress"),
                  ps.get("rules_egress"), ps.get("acl_bytes_last_build")))
for n in ("100", "1000", "10000"):
    if n in ratios.get("iptables", {}):
        print("iptables %s / 0 policies = %.3f" % (n, ratios["iptables"][n]))
for l in notes:
    print(l)
json.dump({"params": {"counts": counts, "reps": int(reps), "duration_s": float(dur), "flows": int(flows),
                      "quick": quick == "1", "rules_per_policy": 10},
           "results": res, "ratios_vs_0": ratios, "notes": notes}, open(out, "w"), indent=1)
print("results:", out)
sys.exit(0 if ok else 1)
PY
/usr/bin/python3 perf/plot_netpol.py "$OUT/netpol-$STAMP.json" -o "$OUT/netpol-$STAMP.png" && say "chart: $OUT/netpol-$STAMP.png"
say "done in $(( $(date +%s) - T0 )) s"
exit $rc
