#!/bin/bash
# Worker scaling on the VXLAN scenario, end to end (issue 8): VXLAN from a remote node into
# sluiced's uplink, decapsulated and delivered to two local pods that sit on different
# workers; 1 worker, then 2 workers, same generator, same topology, one run.
#
#   [sls-rem] rem0 ==veth== sl-up0 [sls-n1: sluiced] p1a ==veth== eth0 [sls-pa] 10.244.1.2
#   sluice-gen --vxlan       net_af_packet,          p1b ==veth== eth0 [sls-pb] 10.244.1.3
#   (AF_XDP, remote VTEP     qpairs=2: kernel flow-hash fanout (RSS) over 2 RX queues;
#    198.18.0.2)             pods over AF_XDP, each pod's port on the least-loaded worker
#
# The generator plays the remote node: 64-byte inner UDP frames (114 bytes on the wire), VNI
# 1, inner destination alternating between the two pods, outer UDP source port a hash of
# the inner flow (RFC 7348) so the uplink's flow-hash fanout spreads them over both queues.
# The pods just receive (the kernel drops UDP to a closed port).
#
# Measured from sluiced's own counters over a fixed window (deltas of `show workers`,
# `show ports`, `show queues`), checked against the pods' kernel counters (`ip -s link` on
# their eth0) and the generator's veth. Prints a table (workers, total Mpps, per-worker Mpps,
# 2w/1w ratio), writes perf/results/scaling-<time>.json and .png.
#
# CPU placement on a 2-core machine (the generator shares cores, so the 2-worker figure is
# CPU-bound, not a measure of what a second dedicated core would give):
#   1 worker : sluiced control (sleeps) + sluice-gen + uplink kernel RX on CPU 0, worker on CPU 1
#   2 workers: worker 0 on CPU 1; worker 1 on CPU 0 together with sluice-gen, its kernel RX
#              path (veth -> af_packet fanout) and the sleeping control thread
#
# Usage: sudo perf/vxlan_scaling.sh [--window S] [--flows N] [--workers 1,2] [--rate PPS]
#                                   [--framecnt N]
# Exit status: 0 ok, 1 a check failed (results still written, marked not valid), 2 usage/setup.
set -euo pipefail
cd "$(dirname "$0")/.."
WINDOW=5 FLOWS=1024 WORKERS=1,2 RATE=0 FRAMECNT=
usage() { echo "usage: $0 [--window S] [--flows N] [--workers 1,2] [--rate PPS] [--framecnt N]" >&2; exit 2; }
while [ $# -gt 0 ]; do
	case $1 in
	--window) WINDOW=$2; shift 2 ;;
	--flows) FLOWS=$2; shift 2 ;;
	--workers) WORKERS=$2; shift 2 ;;
	--rate) RATE=$2; shift 2 ;;
	--framecnt) FRAMECNT=$2; shift 2 ;;
	*) usage ;;
	esac
done
[[ $WINDOW =~ ^[0-9]+$ && $WINDOW -ge 1 && $FLOWS =~ ^[0-9]+$ && $RATE =~ ^[0-9]+$ ]] || usage
[[ $WORKERS =~ ^[12](,[12])*$ && $FRAMECNT =~ ^[0-9]*$ ]] || usage
# --framecnt: frames in each of the uplink's socket rings (net_af_packet's default is 512)
UPLINK_EXTRA=${FRAMECNT:+,framecnt=$FRAMECNT}
source scripts/lib/eal.sh
MEM=$(sl_eal_mem)
B=${SL_BUILD:-build}
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d /tmp/sls-scale-XXXX)
mkdir -p "$OUT"
NS="sls-n1 sls-rem sls-pa sls-pb"
VNI=1
GEN_PID= D_PID=

cleanup() {
	local p
	for p in $GEN_PID $D_PID; do kill -INT "$p" 2>/dev/null || true; done
	for p in $GEN_PID $D_PID; do wait "$p" 2>/dev/null || true; done
	for n in $NS; do ip netns del "$n" 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -f /dev/hugepages/sls-* 2>/dev/null || true
}
trap cleanup EXIT
trap 'exit 2' INT TERM

nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }
ctl() { "$B/control/cli/sluicectl" -s "$RUN/n1.sock" "$@"; }
say() { echo "[$(date +%H:%M:%S)] $*"; }

topology() {
	for n in $NS; do ip netns del "$n" 2>/dev/null || true; ip netns add "$n"; done
	ip link add sl-up0 netns sls-n1 numtxqueues 2 numrxqueues 2 type veth \
		peer name rem0 netns sls-rem numtxqueues 2 numrxqueues 2
	ip link add eth0 netns sls-pa type veth peer name p1a netns sls-n1
	ip link add eth0 netns sls-pb type veth peer name p1b netns sls-n1
	for l in "sls-n1 sl-up0" "sls-rem rem0" "sls-pa eth0" "sls-pb eth0" "sls-n1 p1a" "sls-n1 p1b"; do
		set -- $l
		nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
		nsx "$1" ip link set "$2" up
	done
	nsx sls-pa ip addr add 10.244.1.2/24 dev eth0
	nsx sls-pb ip addr add 10.244.1.3/24 dev eth0
	# veths hand partial checksums to their peer; the pods' eth0 are read through XDP
	for p in sls-pa sls-pb; do nsx $p ethtool -K eth0 tx off >/dev/null 2>&1 || true; done
}

# start_sluiced WORKERS: sluiced in sls-n1 with that many workers; waits for its socket
start_sluiced() {
	local w=$1 lcores
	if [ "$w" = 1 ]; then lcores="-l 0,1 --main-lcore 0"; else lcores="--lcores 0@0,1@1,2@0 --main-lcore 0"; fi
	cat >"$RUN/n1.json" <<JSON
{
  "node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"},
  "uplink": {"devargs": "net_af_packet0,iface=sl-up0,qpairs=2$UPLINK_EXTRA", "rx_queues": 2, "mtu": 1500},
  "host": {"enabled": false},
  "vxlan": {"vni": $VNI},
  "pods": [{"name": "pa", "ip": "10.244.1.2", "mac": "$(mac_of sls-pa eth0)", "ifname": "p1a"},
           {"name": "pb", "ip": "10.244.1.3", "mac": "$(mac_of sls-pb eth0)", "ifname": "p1b"}],
  "nodes": [{"name": "rem", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24",
             "mac": "$(mac_of sls-rem rem0)"}]
}
JSON
	rm -f "$RUN/n1.sock"
	# ip netns exec execs, so $! is sluiced itself
	ip netns exec sls-n1 "$B/control/sluiced" -c "$RUN/n1.json" -s "$RUN/n1.sock" -- $lcores \
		--no-pci --file-prefix sls-n1 $MEM --log-level=lib.eal:error >"$RUN/sluiced-$w.log" 2>&1 &
	D_PID=$!
	for _ in $(seq 150); do
		[ -S "$RUN/n1.sock" ] && ctl show ports >/dev/null 2>&1 && return 0
		kill -0 "$D_PID" 2>/dev/null || break
		sleep 0.1
	done
	echo "sluiced did not come up:" >&2; tail -20 "$RUN/sluiced-$w.log" >&2
	return 1
}

stop_pid() { # stop_pid VAR: SIGINT/SIGTERM the PID in $VAR (ours), wait, clear it
	local p=${!1}
	[ -n "$p" ] || return 0
	kill -"${2:-INT}" "$p" 2>/dev/null || true
	wait "$p" 2>/dev/null || true
	printf -v "$1" '%s' ""
}

# window_sample FILE: sluiced's counters (and the generator veth's TX), read back to back;
# t0/t1 bracket the reads (a busy machine can take a while to answer)
window_sample() {
	{
		printf '{"t0": %s, "workers": ' "$(date +%s.%N)"
		ctl -o json show workers
		printf ', "ports": '
		ctl -o json show ports
		printf ', "queues": '
		ctl -o json show queues
		printf ', "rem_tx": %s' "$(nsx sls-rem cat /sys/class/net/rem0/statistics/tx_packets)"
		printf ', "cpu_ticks": {%s}' "$(thread_ticks "$D_PID")"
		printf ', "t1": %s}\n' "$(date +%s.%N)"
	} >"$1"
}

# thread_ticks PID: "comm": user+system clock ticks, for each thread of PID (DPDK names its
# worker threads rte-worker-N on Debian 12, lcore-worker-N upstream), as JSON members
thread_ticks() {
	local t comm rest sep=
	for t in /proc/"$1"/task/*; do
		read -r comm <"$t/comm" 2>/dev/null || continue
		rest=$(sed 's/^.*) //' "$t/stat" 2>/dev/null) || continue
		# after "pid (comm) ": state is field 1, utime 12, stime 13
		set -- $rest
		printf '%s"%s": %d' "$sep" "$comm" $((${12} + ${13}))
		sep=", "
	done
}

# check_sample FILE: totals for the correctness checks, taken before the generator starts
# and after it stopped and the queues drained: sluiced's ports and the pods' and the
# generator's kernel counters
check_sample() {
	{
		printf '{"ports": '
		ctl -o json show ports
		printf ', "pa": '
		nsx sls-pa ip -j -s link show eth0
		printf ', "pb": '
		nsx sls-pb ip -j -s link show eth0
		printf ', "rem": '
		nsx sls-rem ip -j -s link show rem0
		printf ', "up": '
		nsx sls-n1 ip -j -s link show sl-up0
		printf '}\n'
	} >"$1"
}

# uplink_rx: packets the uplink received so far (no python: it is slow to start on a busy box)
uplink_rx() { ctl show ports | awk '$2 == "uplink" {print $7}'; }
now() { date +%s.%N; }

# run_case WORKERS: one sluiced, generator running, counters over WINDOW seconds
run_case() {
	local w=$1
	say "--- $w worker(s): starting sluiced"
	start_sluiced "$w" || return 1
	ctl show ports | sed 's/^/    /'
	check_sample "$RUN/c0-$w.json"
	# Long enough for start-up, settling and the window; stopped once the window is read.
	local gdur=$((WINDOW + 30))
	say "$w worker(s): sluice-gen --vxlan $VNI, $FLOWS flows to 10.244.1.2-3, rate ${RATE:-0} (0 = unpaced)"
	"$B/perf/sluice-gen" --no-pci -l 0 --file-prefix sls-gen $MEM --log-level=lib.eal:error \
		-- --tx-port sls-rem:net_af_xdp10,iface=rem0 --rx-port sls-rem:net_af_xdp10,iface=rem0 \
		--dst-mac "$(mac_of sls-n1 sl-up0)" --vxlan $VNI --outer-src-ip 198.18.0.2 \
		--outer-dst-ip 198.18.0.1 --src-ip 10.244.2.2 --dst-ip 10.244.1.2 --dst-ip-count 2 \
		--flows "$FLOWS" --rate "$RATE" --warmup 0 --duration "$gdur" --quiet \
		--label "gen-$w" --json "$RUN/gen-$w.json" >"$RUN/gen-$w.log" 2>&1 &
	GEN_PID=$!
	local n0 n1 t0 t1 ok=
	for _ in $(seq 100); do
		n0=$(uplink_rx)
		[ "$n0" -gt 10000 ] && { ok=1; break; }
		kill -0 "$GEN_PID" 2>/dev/null || break
		sleep 0.1
	done
	if [ -z "$ok" ]; then
		echo "no traffic reached the uplink; generator log:" >&2
		grep -vE "^(libbpf|libxdp|TELEMETRY)" "$RUN/gen-$w.log" | tail -20 >&2
		return 1
	fi
	sleep 1 # settle: rings filled, workers out of their idle back-off
	say "$w worker(s): traffic flowing; window of ${WINDOW}s"
	window_sample "$RUN/s0-$w.json"
	local end
	end=$(awk -v t="$(now)" -v w="$WINDOW" 'BEGIN {printf "%.3f", t + w}')
	n0=$(uplink_rx) t0=$(now)
	while awk -v t="$(now)" -v e="$end" 'BEGIN {exit !(t < e - 0.5)}'; do
		sleep 1
		n1=$(uplink_rx) t1=$(now)
		say "$w worker(s): uplink rx $(awk -v a="$n0" -v b="$n1" -v s="$t0" -v e="$t1" \
			'BEGIN {printf "%.3f", (b - a) / (e - s) / 1e6}') Mpps"
		n0=$n1 t0=$t1
	done
	while awk -v t="$(now)" -v e="$end" 'BEGIN {exit !(t < e)}'; do sleep 0.1; done
	window_sample "$RUN/s1-$w.json"
	stop_pid GEN_PID INT
	sleep 1 # let sluiced drain its queues before the totals are checked
	check_sample "$RUN/c1-$w.json"
	ctl show queues | sed 's/^/    /'
	ctl show workers | sed 's/^/    /'
	stop_pid D_PID TERM
}

[ -x "$B/perf/sluice-gen" ] && [ -x "$B/control/sluiced" ] || { echo "build first: scripts/build.sh" >&2; exit 2; }
cat <<EOF
vxlan_scaling: $(nproc) cores, EAL memory: $MEM, window ${WINDOW}s, $FLOWS flows, workers $WORKERS
NOTE: on this $(nproc)-core machine the generator and the workers share CPUs: with 2 workers,
      worker 1 shares CPU 0 with sluice-gen and the uplink's kernel receive path, so the
      2-worker figure is CPU-bound and says nothing about a second dedicated core.
EOF
topology
for w in ${WORKERS//,/ }; do
	run_case "$w" || { echo "run with $w worker(s) failed" >&2; exit 2; }
done

set +e
python3 - "$RUN" "$OUT/scaling-$STAMP.json" "$WORKERS" "$WINDOW" "$FLOWS" "$(nproc)" "$(getconf CLK_TCK)" <<'PY'
import json, sys
run, out, workers, window, flows, ncpu, clk_tck = sys.argv[1:]
clk_tck = float(clk_tck)
workers = [int(w) for w in workers.split(",")]

def load(p):
    return json.load(open(p))

def link(l, d):
    return l[0]["stats64"][d]["packets"]

checks = []
def check(name, ok, detail):
    checks.append({"check": name, "ok": bool(ok), "detail": detail})

cases = []
for w in workers:
    s0, s1 = load(f"{run}/s0-{w}.json"), load(f"{run}/s1-{w}.json")
    c0, c1 = load(f"{run}/c0-{w}.json"), load(f"{run}/c1-{w}.json")
    # the counters were read between t0 and t1 of each sample
    dt = (s1["t0"] + s1["t1"]) / 2 - (s0["t0"] + s0["t1"]) / 2
    read_s = max(s0["t1"] - s0["t0"], s1["t1"] - s1["t0"])
    def delta(a0, a1, key, match, field):
        a = {match(x): x for x in a0[key]}
        return {match(x): x[field] - a[match(x)][field] for x in a1[key] if match(x) in a}
    wtx = delta(s0, s1, "workers", lambda x: x["id"], "tx_packets")
    wrx = delta(s0, s1, "workers", lambda x: x["id"], "rx_packets")
    ptx = delta(s0, s1, "ports", lambda x: x["name"], "tx_packets")
    prx = delta(s0, s1, "ports", lambda x: x["name"], "rx_packets")
    pdrop = delta(s0, s1, "ports", lambda x: x["name"], "tx_dropped")
    qkey = lambda q: f"{q['port']}/{q['queue']}"
    qrx = delta(s0, s1, "queues", qkey, "rx_packets")
    qworker = {qkey(q): q["worker"] for q in s1["queues"]}
    # each worker's CPU time in the window (user + system: the AF_XDP kicks do the kernel's
    # delivery to the pod inside the worker's system call); ticks are 1/clk_tck s
    lcore = {x["id"]: x["lcore"] for x in s1["workers"]}
    cpu_s = {}
    for k, lc in lcore.items():
        for n in (f"rte-worker-{lc}", f"lcore-worker-{lc}"):  # Debian's DPDK, upstream
            if n in s0.get("cpu_ticks", {}) and n in s1.get("cpu_ticks", {}):
                cpu_s[k] = (s1["cpu_ticks"][n] - s0["cpu_ticks"][n]) / clk_tck
    pod_worker = {p["name"]: p.get("worker") for p in s1["ports"]}
    fwd = ptx.get("p1a", 0) + ptx.get("p1b", 0)
    offered = s1["rem_tx"] - s0["rem_tx"]
    # whole run, generator start to drained: the correctness checks and the loss
    ttx = delta(c0, c1, "ports", lambda x: x["name"], "tx_packets")
    trx = delta(c0, c1, "ports", lambda x: x["name"], "rx_packets")
    tdrop = delta(c0, c1, "ports", lambda x: x["name"], "tx_dropped")
    pods_rx = {n: link(c1[n], "rx") - link(c0[n], "rx") for n in ("pa", "pb")}
    gen_tx = link(c1["rem"], "tx") - link(c0["rem"], "tx")
    veth_in = link(c1["up"], "rx") - link(c0["up"], "rx")
    # where the generator's frames were lost: the whole path, in order
    lost = {"veth (peer backlog full)": gen_tx - veth_in,
            "uplink socket rings (kernel -> sluiced)": veth_in - trx.get("uplink", 0),
            "sluiced pod TX (handoff/AF_XDP ring full)": sum(tdrop.get(k, 0) for k in ("p1a", "p1b")),
            "pod TX -> pod eth0": sum(ttx.get(k, 0) for k in ("p1a", "p1b")) - sum(pods_rx.values())}
    c = {
        "workers": w, "window_s": round(dt, 3), "counter_read_s": round(read_s, 3),
        "total_mpps": fwd / dt / 1e6,
        "per_worker_rx_mpps": {str(k): v / dt / 1e6 for k, v in sorted(wrx.items())},
        "per_worker_mpps": {str(k): v / dt / 1e6 for k, v in sorted(wtx.items())},
        "uplink_rx_mpps": prx.get("uplink", 0) / dt / 1e6,
        "offered_mpps": offered / dt / 1e6,
        "worker_cpu_share": {str(k): v / dt for k, v in sorted(cpu_s.items())},
        "per_worker_rx_mpps_per_cpu_s": {str(k): wrx.get(k, 0) / v / 1e6
                                         for k, v in sorted(cpu_s.items()) if v > 0},
        "pod_tx_dropped_mpps": (pdrop.get("p1a", 0) + pdrop.get("p1b", 0)) / dt / 1e6,
        "uplink_queue_rx": qrx, "uplink_queue_worker": qworker,
        "pod_port_worker": {k: pod_worker.get(k) for k in ("p1a", "p1b")},
        "run_totals": {"generator_veth_tx": gen_tx, "uplink_rx": trx.get("uplink", 0),
                       "pod_port_tx": {k: ttx.get(k, 0) for k in ("p1a", "p1b")},
                       "pod_port_tx_dropped": {k: tdrop.get(k, 0) for k in ("p1a", "p1b")},
                       "pods_eth0_rx": pods_rx},
        "loss_pct": 100.0 * (gen_tx - sum(pods_rx.values())) / gen_tx if gen_tx else None,
        "lost_where_pct": {k: 100.0 * v / gen_tx for k, v in lost.items()} if gen_tx else None,
    }
    try:
        g = load(f"{run}/gen-{w}.json")
        c["generator"] = {k: g.get(k) for k in ("tx_packets", "tx_pps", "duration_s", "tx_dropped")}
    except (OSError, ValueError):
        c["generator"] = None
    cases.append(c)
    # correctness, over the whole run (counters settled after the generator stopped)
    for k, n in (("p1a", "pa"), ("p1b", "pb")):
        got, sent = pods_rx[n], ttx.get(k, 0)
        check(f"{w}w: pod {k} eth0 received what sluiced sent it (within 1 %)",
              sent > 0 and abs(got - sent) <= 0.01 * sent + 50, f"sent {sent}, eth0 rx {got}")
    up, tx, drop = trx.get("uplink", 0), sum(ttx.get(k, 0) for k in ("p1a", "p1b")), \
        sum(tdrop.get(k, 0) for k in ("p1a", "p1b"))
    check(f"{w}w: all the uplink received went to the pods (pod ports tx + tx dropped within "
          "1 % of uplink rx)", up > 0 and abs(up - tx - drop) <= 0.01 * up + 50,
          f"uplink rx {up}, pods tx {tx}, tx dropped {drop}")
    upq = {k: v for k, v in qrx.items() if k.startswith("uplink/")}
    if w == 2:
        check("2w: pods on different workers", len(set(c["pod_port_worker"].values())) == 2,
              str(c["pod_port_worker"]))
        # >= 1 %, not ~50 %: the hash spreads flows evenly, but the PMD's fanout also rolls
        # packets over to the other socket when one socket's ring is full, so a worker that
        # the shared machine keeps off its CPU sees its queue's share shrink
        check("2w: both uplink queues got traffic (>= 1 % each), each on its own worker",
              len(upq) == 2 and all(v >= 0.01 * sum(upq.values()) for v in upq.values())
              and len({qworker[k] for k in upq}) == 2, f"{upq} workers {qworker}")
        check("2w: both workers received and forwarded",
              len(wrx) == 2 and all(v > 0 for v in list(wrx.values()) + list(wtx.values())),
              f"rx {wrx} tx {wtx}")

ratio = None
by = {c["workers"]: c for c in cases}
if 1 in by and 2 in by and by[1]["total_mpps"] > 0:
    ratio = by[2]["total_mpps"] / by[1]["total_mpps"]
valid = all(ch["ok"] for ch in checks)
res = {"scenario": "VXLAN decap: remote VTEP -> uplink (net_af_packet qpairs=2, RSS) -> "
                   "two AF_XDP pods on different workers",
       "frame_size": {"outer": 114, "inner": 64}, "flows": int(flows), "cpus": int(ncpu),
       "note": f"{ncpu} CPUs shared by the generator and the workers: the 2-worker figure "
               "is CPU-bound (worker 1 shares CPU 0 with sluice-gen and the uplink's "
               "kernel receive path)",
       "cases": cases, "ratio_2w_1w": ratio, "checks": checks, "valid": valid}
json.dump(res, open(out, "w"), indent=2)

print()
for ch in checks:
    print(f"{'ok  ' if ch['ok'] else 'FAIL'} {ch['check']}: {ch['detail']}")
print()
print(f"{'workers':>7} {'offered':>8} {'total Mpps':>10} {'per-worker rx Mpps':>24} "
      f"{'per-worker tx Mpps':>24} {'pod tx drop':>11} {'loss %':>7} {'2w/1w':>6}")
for c in cases:
    pr = "  ".join(f"w{k}:{v:.3f}" for k, v in c["per_worker_rx_mpps"].items())
    pw = "  ".join(f"w{k}:{v:.3f}" for k, v in c["per_worker_mpps"].items())
    r = f"{ratio:.2f}" if (c["workers"] == 2 and ratio) else ""
    loss = "n/a" if c["loss_pct"] is None else f"{c['loss_pct']:.1f}"
    print(f"{c['workers']:>7} {c['offered_mpps']:>8.3f} {c['total_mpps']:>10.3f} {pr:>24} {pw:>24} "
          f"{c['pod_tx_dropped_mpps']:>11.3f} {loss:>7} {r:>6}")
print("\nwhere the generator's frames were lost (whole run, % of what it sent)")
for c in cases:
    lw = c.get("lost_where_pct") or {}
    print(f"  {c['workers']}w: " + "; ".join(f"{k} {v:.1f}" for k, v in lw.items()))
print("\nCPU time of each worker thread in the window (the machine is shared: a worker off its "
      "CPU forwards nothing)")
for c in cases:
    sh = "  ".join(f"w{k}: {v * 100:.0f} % on a CPU, {c['per_worker_rx_mpps_per_cpu_s'].get(k, 0):.3f} "
                   "Mpps per CPU-second" for k, v in c["worker_cpu_share"].items())
    print(f"  {c['workers']}w: {sh or 'n/a (no worker threads found)'}")
for c in cases:
    q = "  ".join(f"{k}:{v / c['window_s'] / 1e6:.3f}(w{c['uplink_queue_worker'][k]})"
                  for k, v in c["uplink_queue_rx"].items() if k.startswith("uplink/"))
    print(f"  {c['workers']}w uplink queues Mpps: {q}; pods on workers {c['pod_port_worker']}")
print("\ntotal = packets sluiced sent to the two pod ports per second; per-worker rx = uplink "
      "packets the worker received and forwarded (its RSS queue), tx = packets it sent (a pod "
      "port is sent on by its owner only: the other worker hands its packets over)")
print("workers: w0 = lcore 1 on CPU 1; w1 = lcore 2 on CPU 0 with sluice-gen. All rates in Mpps "
      "over the window.")
print("pod tx drop = frames sluiced routed to a pod but could not hand over or send "
      "(the port's handoff ring or AF_XDP TX ring full)")
print("offered = the generator veth's TX in the window; loss % = of everything the generator "
      "sent, what the pods' eth0 did not receive (whole run; unpaced, so the overload is lost "
      "mostly in the uplink's kernel socket ring before sluiced sees it)")
print(f"CPU-bound: {ncpu} CPUs shared by sluice-gen and the workers; with 2 workers, worker 1 "
      "shares CPU 0 with the generator.")
print(f"results: {out}{'' if valid else '  (NOT VALID: a check failed)'}")
sys.exit(0 if valid else 1)
PY
rc=$?
set -e
/usr/bin/python3 perf/plot_scaling.py "$OUT/scaling-$STAMP.json" -o "$OUT/scaling-$STAMP.png" &&
	echo "chart: $OUT/scaling-$STAMP.png"
exit $rc
