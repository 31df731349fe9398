#!/bin/bash
# Benchmark: pod -> ClusterIP with 1, 1,000, 10,000 and 100,000 Services (10 backends each),
# UDP throughput and new TCP connections per second, three dataplanes side by side in one
# run with the same generator, clients and backends:
#   sluice    sluiced (one worker): Services and EndpointSlices applied with `sluicectl
#             apply -f` (Kubernetes Lists, in chunks under the 4 MiB request limit)
#   iptables  the kernel in a router namespace with kube-proxy's iptables layout
#             (KUBE-SERVICES -> KUBE-SVC-* with `statistic` -> KUBE-SEP-* DNAT), loaded with
#             iptables-restore (iptables 1.8.9, nf_tables backend)
#   nft       the kernel with KEP-3866's nftables layout (kube-proxy's nftables mode: a
#             verdict map daddr . l4proto . dport -> per-service chain -> numgen random ->
#             endpoint chain DNAT), loaded with nft -f
# IPVS (kube-proxy's third mode) cannot run here: ip_vs is not built into this kernel and
# no modules load.
#
#                       eth0 ==veth== p1a [$P-sl:  sluiced ] sl-up0 ==veth== sink0
#   [$P-pod] 10.244.1.2 eth1 ==veth== p1a [$P-ipt: kernel  ] sl-up0 ==veth== sink1 [$P-sink]
#   client              eth2 ==veth== p1a [$P-nft: kernel  ] sl-up0 ==veth== sink2  backends
#   (sluice-gen tx,               10.244.1.1      198.18.0.1          198.18.0.2  10.244.9.10-19
#    svc_tcp.py client)                                                          (sluice-gen rx,
#                                                                                 svc_tcp.py server)
#                       eth3 ==veth== p1a [$P-sl1: sluiced, 1 Service: the reference] sl-up0 ==veth== sink3
# The three DUTs stay loaded side by side (a path is chosen by the pod's and the backend
# host's routes and by which veth the generator uses), so the paths are interleaved within
# each repetition and the figures are medians over repetitions. The backends are 10 pod
# addresses on one backend host reached through the node's uplink by a route (10.244.9.0/24
# via 198.18.0.2), the same for every path, no encapsulation. Services: see
# perf/services_objects.py (even Services UDP, odd TCP, one port each; N = 1 is run as 2).
#   UDP: sluice-gen, 64-byte frames, unpaced, --flows F (default 32768) source ports, flow i to
#        Service i % (UDP Services) of a shuffled list: the flows spread over the whole set
#        (every UDP Service when there are fewer than F). Mpps received at the backend host.
#   TCP: svc_tcp.py, INFLIGHT connects in flight, each to the next TCP Service of a shuffled
#        list, reset once established; connections/s (the client is a Python process on the
#        generator's core: it bounds the rate, which the kernel's rule walk may lower).
# sluice at N Services against 1 Service, side by side: a second sluiced (sluice-ref) holds 1
# Service for the whole run and is measured in every repetition of every count next to the
# sluiced holding N, so the N/1 ratio compares figures taken seconds apart (the machine is
# shared: figures taken minutes apart, before and after a 100,000-Service load, compared
# other people's builds). Two UDP figures for sluiced at N:
#   sluice        the flows spread over the UDP Services as above (the workload grows with N:
#                 at 100,000 each of the 32,768 flows goes to a Service of its own)
#   sluice-fixed  the reference's traffic: the 32,768 flows to one Service (svc-0, present at
#                 every count), while N Services exist. The same workload with 1 and with N
#                 Services on the node: what "throughput with 1 vs 100,000 Services" asks, and
#                 the figure the target (>= 0.95) applies to.
# Ratios: per repetition (sluice-fixed / sluice-ref and sluice / sluice-ref of the same
# repetition; UDP against the mean of the reference's two runs in it, one of them the
# repetition's last), median over repetitions.
# Cores: the DUT's forwarding (sluiced's worker; the kernel routers' receive processing,
# moved there with RPS) on core 1, generator, client, server and control on core 0.
#
# Usage: sudo perf/services_bench.sh [--quick] [--counts 1,1000,10000,100000]
#          [--kernel-max 10000] [--reps 3] [--duration 3] [--flows 32768] [--inflight 32]
#   --quick: counts 1,1000,10000, kernel paths up to 1,000, 1 repetition of 2 s (smoke, < 3 min)
#   --kernel-max N: the kernel paths run for counts <= N only (iptables-restore and nft -f of
#     kube-proxy's layout grow superlinearly here: 10,000 Services take ~30 s and ~165 s,
#     100,000 would take far longer than the whole run; the skip is reported)
# Environment: SL_BENCH_PATHS="sluice iptables nft", SL_BENCH_PREFIX (namespaces, run dir, EAL
#   file prefixes; default slb), KEEP=1 keeps the run directory, SL_BUILD (default build),
#   SL_BENCH_NICE (default -10: the generator, the TCP client and server and every sluiced
#   thread run at this nice value, so other people's builds on the shared cores disturb the
#   figures less; the kernel paths' forwarding runs in softirq context, which preempts any
#   process anyway; 0: off), SL_BENCH_SL_MEM (sluiced's EAL memory, default --no-huge -m 1024).
# Writes perf/results/services-<time>.json and .png; exit 1 when a check failed (results are
# still written), 2 on a usage or set-up error.
set -euo pipefail
cd "$(dirname "$0")/.."
COUNTS=1,1000,10000,100000 KMAX=10000 REPS=3 DURATION=3 WARMUP=1 FLOWS=32768 INFLIGHT=32
QUICK=0
usage() { sed -n '/^# Usage/,/^# Writes/p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--quick) QUICK=1 COUNTS=1,1000,10000 KMAX=1000 REPS=1 DURATION=2; shift ;;
	--counts) COUNTS=$2; shift 2 ;;
	--kernel-max) KMAX=$2; shift 2 ;;
	--reps) REPS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--flows) FLOWS=$2; shift 2 ;;
	--inflight) INFLIGHT=$2; shift 2 ;;
	*) usage ;;
	esac
done
source scripts/lib/eal.sh
P=${SL_BENCH_PREFIX:-slb}
PATHS=${SL_BENCH_PATHS:-sluice iptables nft}
B=${SL_BUILD:-build}
GEN_MEM=$(sl_eal_mem)
NICE=${SL_BENCH_NICE:--10}
SL_MEM=${SL_BENCH_SL_MEM:---no-huge -m 1024} # sluiced: not hugepages, so its RSS shows what the tables take
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d "/tmp/$P-XXXX")
mkdir -p "$OUT"
GW_MAC=02:5c:00:00:00:01 # sluiced's gateway MAC (set in its config)
FWD_CORE_MASK=2          # core 1
T0=$(date +%s)
declare -A SL_PID=([sl]="" [sl1]="")
SRV_PID=""

cleanup() {
	[ -n "$SRV_PID" ] && { kill -TERM "$SRV_PID" 2>/dev/null; wait "$SRV_PID" 2>/dev/null; } || true
	sluice_stop sl
	sluice_stop sl1
	for n in pod sl sl1 ipt nft sink; do ip netns del "$P-$n" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -rf /var/run/dpdk/$P-gen /var/run/dpdk/$P-sl /var/run/dpdk/$P-sl1
}
trap cleanup EXIT

nsx() { local n=$1; shift; ip netns exec "$P-$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }
now() { date +%s.%N; }
elapsed() { echo "[$(( $(date +%s) - T0 ))s]"; }
say() { echo "$(elapsed) $*"; }
kernel_kb() { awk '/^SUnreclaim:/ {print $2}' /proc/meminfo; }

path_if() { # the pod's and backend host's interface index of a path
	case $1 in sluice | sluice-fixed) echo 0 ;; iptables) echo 1 ;; nft) echo 2 ;; sluice-ref) echo 3 ;; esac
}
path_ns() { case $1 in sluice | sluice-fixed) echo sl ;; iptables) echo ipt ;; nft) echo nft ;; sluice-ref) echo sl1 ;; esac; }

topology() {
	for n in pod sl sl1 ipt nft sink; do
		ip netns del "$P-$n" 2>/dev/null || true
		ip netns add "$P-$n"
		nsx $n ip link set lo up
		nsx $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	nsx pod ip addr add 10.244.1.2/32 dev lo
	for k in 1 2 3 4 5 6 7 8 9 10; do nsx sink ip addr add "10.244.9.$((9 + k))/32" dev lo; done
	for path in sluice iptables nft sluice-ref; do
		local i d
		i=$(path_if $path) d=$(path_ns $path)
		ip link add "eth$i" netns $P-pod type veth peer name p1a netns "$P-$d"
		ip link add "sink$i" netns $P-sink type veth peer name sl-up0 netns "$P-$d"
		for l in "pod eth$i" "sink sink$i" "$d p1a" "$d sl-up0"; do
			set -- $l
			nsx "$1" ip link set "$2" up
		done
		# Frames read through XDP must carry full checksums (docs/known-issues.md).
		nsx pod ethtool -K "eth$i" tx off >/dev/null
		nsx sink ethtool -K "sink$i" tx off >/dev/null
		nsx sink ip addr add 198.18.0.2/32 dev "sink$i"
	done
	for d in ipt nft; do
		nsx $d sysctl -qw net.ipv4.ip_forward=1
		nsx $d ip addr add 10.244.1.1/24 dev p1a
		nsx $d ip addr add 198.18.0.1/24 dev sl-up0
		nsx $d ip route add 10.244.9.0/24 via 198.18.0.2 dev sl-up0
		local i
		i=$( [ $d = ipt ] && echo 1 || echo 2 )
		nsx $d ip neigh replace 198.18.0.2 lladdr "$(mac_of sink sink$i)" dev sl-up0 nud permanent
		nsx $d ip neigh replace 10.244.1.2 lladdr "$(mac_of pod eth$i)" dev p1a nud permanent
		# One forwarding core for the kernel too, the one sluiced's worker uses.
		nsx $d sh -c "echo $FWD_CORE_MASK > /sys/class/net/p1a/queues/rx-0/rps_cpus; echo $FWD_CORE_MASK > /sys/class/net/sl-up0/queues/rx-0/rps_cpus"
	done
	nsx pod ip neigh replace 10.244.1.1 lladdr $GW_MAC dev eth0 nud permanent
	nsx pod ip neigh replace 10.244.1.1 lladdr $GW_MAC dev eth3 nud permanent
	nsx pod ip neigh replace 10.244.1.1 lladdr "$(mac_of ipt p1a)" dev eth1 nud permanent
	nsx pod ip neigh replace 10.244.1.1 lladdr "$(mac_of nft p1a)" dev eth2 nud permanent
	nsx pod ip route add 10.244.1.1/32 dev eth0 scope link
	for i in 0 1 2 3; do
		local d
		d=$(case $i in 0) echo sl ;; 1) echo ipt ;; 2) echo nft ;; 3) echo sl1 ;; esac)
		nsx sink ip neigh replace 198.18.0.1 lladdr "$(mac_of $d sl-up0)" dev "sink$i" nud permanent
	done
}

# use_path PATH: the pod's default route and the backend host's route back through PATH.
use_path() {
	local i
	i=$(path_if "$1")
	nsx pod ip route replace default via 10.244.1.1 dev "eth$i" onlink src 10.244.1.2
	nsx sink ip route replace 10.244.1.0/24 via 198.18.0.1 dev "sink$i" onlink src 10.244.9.10
}

# sluice_stop INST: SIGTERM sluiced INST (sl: the one holding N Services, sl1: the 1-Service
# reference), then SIGKILL if it is still there after 60 s (said on stdout).
sluice_stop() {
	local pid=${SL_PID[$1]}
	[ -n "$pid" ] || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for _ in $(seq 600); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		say "! sluiced ($1) still running 60 s after SIGTERM: SIGKILLed"
		kill -KILL "$pid" 2>/dev/null || true
	fi
	wait "$pid" 2>/dev/null || true
	SL_PID[$1]=""
}
CTL_INST=sl # which sluiced ctl talks to
ctl() { "$B/control/cli/sluicectl" -s "$RUN/$CTL_INST.sock" "$@"; }
rss_kb() { awk '/^VmRSS:/ {print $2}' "/proc/$1/status"; }

# sluice_load N [INST]: a fresh sluiced INST (default sl; sl1: the reference, path
# sluice-ref), the Services applied; appends to loads.jsonl.
sluice_load() {
	local n=$1 inst=${2:-sl} t0 t1 rss0 rss1 files=() f pid path=sluice ifn=eth0
	[ "$inst" = sl1 ] && path=sluice-ref ifn=eth3
	CTL_INST=$inst
	sluice_stop "$inst"
	cat >"$RUN/$inst.json" <<JSON
{
  "node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24",
           "cluster_cidr": "10.244.0.0/16", "gateway_mac": "$GW_MAC"},
  "uplink": {"devargs": "net_af_xdp0,iface=sl-up0", "mtu": 1500},
  "host": {"enabled": false},
  "conntrack": {"size": 262144},
  "pods": [{"name": "client", "namespace": "bench", "ip": "10.244.1.2",
            "mac": "$(mac_of pod $ifn)", "ifname": "p1a"}],
  "routes": [{"prefix": "10.244.9.0/24", "via": "198.18.0.2"}]
}
JSON
	rm -f "$RUN/$inst.sock"
	ip netns exec "$P-$inst" "$B/control/sluiced" -c "$RUN/$inst.json" -s "$RUN/$inst.sock" \
		-- -l 0,1 --main-lcore 0 --no-pci --file-prefix "$P-$inst" $SL_MEM \
		--log-level=lib.eal:error >>"$RUN/sluiced-$inst.log" 2>&1 &
	pid=$!
	SL_PID[$inst]=$pid
	for _ in $(seq 100); do [ -S "$RUN/$inst.sock" ] && ctl version >/dev/null 2>&1 && break; sleep 0.1; done
	ctl version >/dev/null || { echo "sluiced did not start:"; tail "$RUN/sluiced-$inst.log"; exit 2; }
	for t in /proc/"$pid"/task/*; do renice -n "$NICE" -p "${t##*/}" >/dev/null || true; done
	# The route's neighbour (the backend host) must be resolved before the generator's XDP
	# socket takes every frame on sink0.
	for _ in $(seq 50); do ctl -o json show neighbors | grep -q reachable && break; sleep 0.1; done
	ctl -o json show neighbors | grep -q reachable || { echo "sluiced: 198.18.0.2 unresolved"; exit 2; }
	mapfile -t files < <(python3 perf/services_objects.py k8s "$n" "$RUN/k8s")
	rss0=$(rss_kb "$pid")
	t0=$(now)
	for f in "${files[@]}"; do
		ctl -o json apply -f "$f" >"$RUN/apply.out" || { echo "apply $f failed:"; cat "$RUN/apply.out"; exit 2; }
	done
	t1=$(now)
	rss1=$(rss_kb "$pid")
	rm -f "${files[@]}"
	ctl -o json show stats >"$RUN/stats-$n-$inst.json"
	python3 - "$n" "$t0" "$t1" "$rss0" "$rss1" "${#files[@]}" "$RUN/stats-$n-$inst.json" "$path" >>"$RUN/loads.jsonl" <<'PY'
import json, sys
n, t0, t1, rss0, rss1, req, stats, path = sys.argv[1:]
s = json.load(open(stats))
ct = s.get("conntrack", {})
print(json.dumps({"count": int(n), "path": path, "load_s": round(float(t1) - float(t0), 3),
                  "requests": int(req), "mem_kb": int(rss1) - int(rss0),
                  "mem_what": "sluiced RSS growth over the apply (model, LB tables, Maglev)",
                  "model_bytes": s["model"]["bytes"], "services": s["model"]["services"],
                  "frontends": ct.get("frontends")}))
PY
	say "$path: $(tail -n1 "$RUN/loads.jsonl")"
	CTL_INST=sl
}

# kernel_load PATH N: flush, then load kube-proxy's rules for N Services; loads.jsonl.
kernel_load() {
	local path=$1 n=$2 d k0 k1 t0 t1 t2 peak
	d=$(path_ns "$path")
	t0=$(now)
	if [ "$path" = iptables ]; then
		nsx $d iptables -t nat -F; nsx $d iptables -t nat -X
	else
		nsx $d nft delete table ip kube-proxy 2>/dev/null || true
	fi
	# No NAT binding of the previous count's rules may serve this count's flows.
	nsx $d conntrack -F >/dev/null 2>&1 || true
	t1=$(now)
	python3 perf/services_objects.py "$([ "$path" = iptables ] && echo iptables || echo nft)" "$n" >"$RUN/rules.txt"
	k0=$(kernel_kb)
	local tool=(iptables-restore)
	[ "$path" = nft ] && tool=(nft -f -)
	t1=$(now)
	/usr/bin/time -f "%M" -o "$RUN/time.out" ip netns exec "$P-$d" "${tool[@]}" <"$RUN/rules.txt"
	t2=$(now)
	k1=$(kernel_kb)
	peak=$(tail -n1 "$RUN/time.out")
	echo "{\"count\": $n, \"path\": \"$path\", \"load_s\": $(python3 -c "print(round($t2 - $t1, 3))"), \"tool_peak_rss_kb\": $peak, \"mem_kb\": $((k1 - k0)), \"mem_what\": \"kernel SUnreclaim growth (whole machine: noisy)\", \"rules_lines\": $(wc -l <"$RUN/rules.txt")}" >>"$RUN/loads.jsonl"
	say "$path: $(tail -n1 "$RUN/loads.jsonl")"
	rm -f "$RUN/rules.txt"
}

kernel_unload() {
	nsx ipt iptables -t nat -F 2>/dev/null || true
	nsx ipt iptables -t nat -X 2>/dev/null || true
	nsx nft nft delete table ip kube-proxy 2>/dev/null || true
}

# udp PATH N REP: sluice-gen through PATH; one line in runs.jsonl. sluice-fixed and
# sluice-ref send the 1-Service traffic (udp-1.txt), the others udp-N.txt. On sluice paths
# the worker's graph statistics (`show graph`) before and after give the cycles per packet
# of ip4-lb and of the whole graph over the run (TSC cycles: time the worker is preempted
# inside a node counts too).
udp() {
	local path=$1 n=$2 rep=$3 i dmac dsts=$2 inst=""
	i=$(path_if "$path")
	case $path in
	sluice) dmac=$GW_MAC inst=sl ;;
	sluice-fixed) dmac=$GW_MAC dsts=1 inst=sl ;;
	sluice-ref) dmac=$GW_MAC dsts=1 inst=sl1 ;;
	*) dmac=$(mac_of "$(path_ns "$path")" p1a) ;;
	esac
	echo "[]" >"$RUN/graph0.json"
	echo "[]" >"$RUN/graph1.json"
	[ -z "$inst" ] || CTL_INST=$inst ctl -o json show graph >"$RUN/graph0.json" 2>/dev/null || true
	nice -n "$NICE" taskset -c 0 "$B/perf/sluice-gen" --no-pci -l 0 --file-prefix $P-gen $GEN_MEM --log-level=lib.eal:error \
		-- --tx-port "$P-pod:net_af_xdp10,iface=eth$i" --rx-port "$P-sink:net_af_xdp11,iface=sink$i" \
		--src-mac "$(mac_of pod "eth$i")" --dst-mac "$dmac" --src-ip 10.244.1.2 \
		--dst-file "$RUN/udp-$dsts.txt" --flows "$FLOWS" --size 64 --duration "$DURATION" \
		--warmup "$WARMUP" --quiet --label "$path-$n" --json "$RUN/gen.json" >"$RUN/gen.log" 2>&1 ||
		{ echo "sluice-gen failed:"; tail -n 5 "$RUN/gen.log"; }
	[ -z "$inst" ] || CTL_INST=$inst ctl -o json show graph >"$RUN/graph1.json" 2>/dev/null || true
	say "  udp $path n=$n rep $rep: $( (python3 - "$path" "$n" "$rep" "$RUN/gen.json" "$RUN/graph0.json" "$RUN/graph1.json" >>"$RUN/runs.jsonl" <<'PY'
import json, sys
path, n, rep, f, g0, g1 = sys.argv[1:]
def load(p, default):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return default
g = load(f, {})
def nodes(p):
    d = load(p, [])
    d = d if isinstance(d, list) else d.get("graph", d.get("nodes", []))
    out = {}
    for r in d:  # one row per worker and node
        p0, c0 = out.get(r["node"], (0, 0))
        out[r["node"]] = (p0 + r["packets"], c0 + r["packets"] * r["cycles_per_packet"])
    return out
a, b = nodes(g0), nodes(g1)
def delta(k):
    pa, ca = a.get(k, (0, 0))
    pb, cb = b.get(k, (0, 0))
    return pb - pa, cb - ca
lb_p, lb_c = delta("ip4-lb")
rx_p, _ = delta("port-rx")
all_c = sum(delta(k)[1] for k in b)
cyc = {}
if lb_p > 0:
    cyc = {"ip4_lb_cycles_per_packet": round(lb_c / lb_p, 1),
           "graph_cycles_per_packet": round(all_c / rx_p, 1) if rx_p > 0 else None}
print(json.dumps({"count": int(n), "path": path, "proto": "udp", "rep": int(rep),
                  "mpps": round(g.get("rx_pps", 0) / 1e6, 4),
                  "tx_mpps": round(g.get("tx_pps", 0) / 1e6, 4), "loss_pct": g.get("loss_pct"),
                  "foreign": g.get("foreign"), **cyc, "gen": g}))
print("%.3f Mpps received (%.3f sent)%s" % (g.get("rx_pps", 0) / 1e6, g.get("tx_pps", 0) / 1e6,
      "; ip4-lb %.0f, graph %s cycles/packet" % (cyc["ip4_lb_cycles_per_packet"],
      cyc["graph_cycles_per_packet"]) if cyc else ""), file=sys.stderr)
PY
	) 2>&1)"
	rm -f "$RUN/gen.json"
}

# tcp PATH N REP: svc_tcp.py client through PATH; one line in runs.jsonl.
tcp() {
	local path=$1 n=$2 rep=$3
	use_path "$path"
	# ip netns exec and taskset exec, so $! is the server itself (not a subshell).
	ip netns exec $P-sink nice -n "$NICE" taskset -c 0 python3 perf/svc_tcp.py server 8080 "$RUN/srv.json" &
	SRV_PID=$!
	for _ in $(seq 50); do nsx sink ss -Hltn "sport = :8080" | grep -q . && break; sleep 0.1; done
	local dsts=$n
	[ "$path" = sluice-ref ] && dsts=1
	nsx pod nice -n "$NICE" taskset -c 0 python3 perf/svc_tcp.py client "$RUN/tcp-$dsts.txt" "$DURATION" "$INFLIGHT" \
		"$path-$n" >"$RUN/tcp.json" || true
	kill -TERM "$SRV_PID"; wait "$SRV_PID" 2>/dev/null || true
	SRV_PID=""
	say "  tcp $path n=$n rep $rep: $( (python3 - "$path" "$n" "$rep" "$RUN/tcp.json" "$RUN/srv.json" >>"$RUN/runs.jsonl" <<'PY'
import json, sys
path, n, rep, c, s = sys.argv[1:]
def load(p):
    try:
        return json.load(open(p))
    except (OSError, ValueError):
        return {}
c, s = load(c), load(s)
print(json.dumps({"count": int(n), "path": path, "proto": "tcp", "rep": int(rep),
                  "conn_per_s": c.get("conn_per_s", 0), "errors": c.get("errors"),
                  "timeouts": c.get("timeouts"), "accepted": s.get("accepted"),
                  "per_backend": s.get("per_backend")}))
print("%.0f conn/s, %d backends answered, errors %s, timeouts %s" % (
    c.get("conn_per_s", 0), len(s.get("per_backend") or {}), c.get("errors"),
    c.get("timeouts")), file=sys.stderr)
PY
	) 2>&1)"
	rm -f "$RUN/srv.json" "$RUN/tcp.json"
}

[ -x "$B/perf/sluice-gen" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
for t in iptables-restore nft conntrack; do command -v $t >/dev/null || { echo "$t missing: scripts/setup.sh" >&2; exit 2; }; done
say "services_bench: counts $COUNTS, kernel paths up to $KMAX, $REPS repetition(s) of ${DURATION}s, $FLOWS UDP flows, $INFLIGHT TCP connects in flight, paths: $PATHS; $(nproc) cores"
say "IPVS: not available on this machine (ip_vs is not built in and no kernel modules load): not measured"
topology
: >"$RUN/loads.jsonl"
: >"$RUN/runs.jsonl"
python3 perf/services_objects.py dsts 1 udp >"$RUN/udp-1.txt"
python3 perf/services_objects.py dsts 1 tcp >"$RUN/tcp-1.txt"
case " $PATHS " in *" sluice "*)
	say "sluice-ref: the 1-Service reference sluiced, measured next to sluiced at every count"
	sluice_load 1 sl1 ;;
esac
for n in ${COUNTS//,/ }; do
	say "=== $n Services ($(python3 -c "import sys; print(max(int(sys.argv[1]), 2))" "$n") in the table: half UDP, half TCP)"
	python3 perf/services_objects.py dsts "$n" udp >"$RUN/udp-$n.txt"
	python3 perf/services_objects.py dsts "$n" tcp >"$RUN/tcp-$n.txt"
	active=()
	for path in $PATHS; do
		if [ "$path" = sluice ]; then
			sluice_load "$n"
			active+=(sluice sluice-fixed sluice-ref)
		elif [ "$n" -le "$KMAX" ]; then
			kernel_load "$path" "$n"
			active+=("$path")
		else
			echo "{\"count\": $n, \"path\": \"$path\", \"skipped\": \"count above --kernel-max $KMAX\"}" >>"$RUN/loads.jsonl"
			say "$path: skipped at $n Services (above --kernel-max $KMAX: its rule load alone would outlast the run)"
		fi
	done
	for ((rep = 1; rep <= REPS; rep++)); do
		# Rotate the order in each repetition, so no path always runs first.
		order=("${active[@]:$(( (rep - 1) % ${#active[@]} ))}" "${active[@]:0:$(( (rep - 1) % ${#active[@]} ))}")
		for path in "${order[@]}"; do udp "$path" "$n" "$rep"; done
		# sluice-ref once more at the end, so each repetition's sluice figures are between
		# two of the reference's (ratios against their mean: drift within it cancels).
		case " ${active[*]} " in *" sluice-ref "*) udp sluice-ref "$n" "$rep" ;; esac
		for path in "${order[@]}"; do [ "$path" = sluice-fixed ] || tcp "$path" "$n" "$rep"; done
	done
	[ -z "${SL_PID[sl]}" ] || ctl -o json show stats >"$RUN/stats-after-$n.json" 2>/dev/null || true
done
sluice_stop sl
sluice_stop sl1
kernel_unload

rc=0
python3 perf/services_report.py "$RUN" "$OUT/services-$STAMP.json" \
	"{\"counts\": \"$COUNTS\", \"kernel_max\": $KMAX, \"reps\": $REPS, \"duration_s\": $DURATION, \"flows\": $FLOWS, \"inflight\": $INFLIGHT, \"quick\": $QUICK, \"cpus\": $(nproc)}" || rc=1
/usr/bin/python3 perf/plot_services.py "$OUT/services-$STAMP.json" -o "$OUT/services-$STAMP.png" &&
	say "chart: $OUT/services-$STAMP.png"
say "done in $(( $(date +%s) - T0 )) s"
exit $rc
