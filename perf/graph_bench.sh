#!/bin/bash
# Benchmark: sluice's forwarding graph alone on 1 and 2 worker lcores, with I/O that costs
# next to nothing, to show per-worker scaling on a machine whose cores the generator would
# otherwise share (issue 8; the end-to-end RSS uplink run is perf/vxlan_bench.sh's job).
#
#   encap  pod port -> port-rx -> eth-input -> ip4-input -> ip4-lookup -> vxlan-encap
#          -> port-tx -> uplink                      (64-byte UDP in, 114-byte VXLAN out)
#   decap  uplink -> port-rx -> eth-input -> ip4-input -> vxlan-decap -> ip4-lookup
#          -> eth-output -> port-tx -> pod port      (114-byte VXLAN in, 64-byte UDP out)
#
# How, and why this way: build/perf/sluice-graph-bench (perf/graph-bench/) links the
# dataplane library sluiced links, builds the node's tables with the same calls and next-hop
# shapes control/net/sl_net.c uses (pods, remote nodes with static neighbour MACs, VNI 1), and
# runs each worker's real graph, rooted at the real port-rx, with the real worker pass
# (sl_worker_poll). The ports are net_ring ethdevs, so port-rx and port-tx run their real
# ethdev code (rte_eth_rx_burst / rte_eth_tx_burst), which for net_ring is a ring dequeue /
# enqueue: the closest to sluiced's real path with no I/O cost to speak of. A source node
# injecting pre-built bursts would skip port-rx, and net_null would hand the graph garbage
# (it allocates empty mbufs) or copy every frame in the driver. After each pass the worker
# takes what port-tx sent from its TX rings, checks it, writes a fresh input frame into the
# same mbuf (one 64/114-byte copy) and puts it back on its RX ring; that recycling is timed
# apart ("bench io") and is not part of the per-node figures.
#
# Correctness, so the figure cannot be of a broken path: every frame must leave on the port
# its flow must leave on with the right length; one in --verify-every (at random) is compared
# byte for byte with the frame the bench built on its own (outer headers, VNI, TTL, valid
# checksums, a per-flow-stable VXLAN source port, inner packet and payload); at the end the
# port counters must show received == sent == taken at the sink, no drop of any reason, every
# flow checked, every mbuf back. A self-test first runs each direction with the wrong VNI and
# requires the checks to fail. Sample frames go through tshark when it is installed.
#
# Cores: the EAL main lcore is the control thread; it only sets up, sleeps, and samples
# counters. With 1 worker: control on CPU 0, worker 0 on CPU 1. With 2 workers on this
# 2-core machine: worker 0 on CPU 1, worker 1 on CPU 0 together with the (sleeping) control
# thread. Anything else running on the machine takes CPU time from the workers, so the
# bench also reports each worker's CPU share (thread CPU time / wall time) and its Mpps per
# second on a CPU, which that does not distort.
#
# Writes perf/results/graph-<time>.json and .png.
# --services: encap through Service VIPs (ip4-lb, conntrack, DNAT; established flows; the
# same output frames), "encap" only; --affinity 1: those Services with sessionAffinity ClientIP
# (established packets refresh the client's affinity entry).
# --new-flows 1: with --services, every frame is a new flow (its own UDP source port): ip4-lb
# picks a backend (Maglev) and creates a conntrack entry for every packet; the table holds
# 2^23 flows (--ct-size), so the default window is 1 s after 0.1 s (a faster worker would
# fill it: the run then fails its check). Prints new flows/s per worker (= Mpps) and ip4-lb's
# cycles per packet. Needs ~2.2 GiB of EAL memory (--no-huge -m 3072 unless hugepages).
# Usage: sudo perf/graph_bench.sh [--workers 1,2] [--dir encap,decap] [--flows N] [--pods N]
#          [--remotes N] [--duration S] [--warmup S] [--inflight N] [--verify-every N]
#          [--services 1 [--affinity 1]] [--new-flows 1] [--ct-size N]
set -euo pipefail
cd "$(dirname "$0")/.."
WORKERS=1,2 DIRS=encap,decap FLOWS=1024 PODS=4 REMOTES=4 DURATION=5 WARMUP=1 INFLIGHT=512
VERIFY=16 SERVICES=() NEWFLOWS=0 CTSIZE=$((1 << 23)) DURATION_SET= WARMUP_SET=
usage() {
	echo "usage: $0 [--workers 1,2] [--dir encap,decap] [--flows N] [--pods N] [--remotes N]" \
		"[--duration S] [--warmup S] [--inflight N] [--verify-every N]" >&2
	exit 2
}
while [ $# -gt 0 ]; do
	[ $# -ge 2 ] || usage
	case $1 in
	--workers) WORKERS=$2 ;;
	--dir) DIRS=$2 ;;
	--flows) FLOWS=$2 ;;
	--pods) PODS=$2 ;;
	--remotes) REMOTES=$2 ;;
	--duration) DURATION=$2 DURATION_SET=1 ;;
	--warmup) WARMUP=$2 WARMUP_SET=1 ;;
	--inflight) INFLIGHT=$2 ;;
	--verify-every) VERIFY=$2 ;;
	--services) [ "$2" = 1 ] && SERVICES+=(--services) ;;
	--affinity) [ "$2" = 1 ] && SERVICES+=(--affinity) ;;
	--new-flows) NEWFLOWS=$2 ;;
	--ct-size) CTSIZE=$2 ;;
	*) usage ;;
	esac
	shift 2
done
source scripts/lib/eal.sh
B=${SL_BUILD:-build}
BIN=$B/perf/sluice-graph-bench
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d /tmp/slg-XXXX)
PREFIX=slg-gb-$$
NCPU=$(nproc)
mkdir -p "$OUT"

cleanup() {
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
	rm -rf /dev/hugepages/"$PREFIX"* /var/run/dpdk/"$PREFIX" 2>/dev/null || true
}
trap cleanup EXIT

[ -x "$BIN" ] || { echo "build first: scripts/build.sh" >&2; exit 1; }
MEM=$(sl_eal_mem)
if [ "$NEWFLOWS" = 1 ]; then
	SERVICES=(--services --new-flows --ct-size "$CTSIZE")
	DIRS=encap
	[ -n "$DURATION_SET" ] || DURATION=1
	[ -n "$WARMUP_SET" ] || WARMUP=0.1
	# the conntrack table: ~270 bytes per flow
	MEM="--no-huge -m $((CTSIZE * 270 / 1048576 + 768))"
fi

# lcores N: control lcore 0 on CPU 0; worker i (lcore i+1) on CPU NCPU-1-i (mod NCPU), so
# the workers take the other CPUs first and only the last one shares CPU 0 with control.
lcores() {
	local s="0@0" i
	for ((i = 0; i < $1; i++)); do s+=",$((i + 1))@$(((NCPU - 1 - i + NCPU) % NCPU))"; done
	echo "$s"
}

# bench N DIR [bench options]: one run with N workers; exit status of the bench
bench() {
	local n=$1 dir=$2
	shift 2
	"$BIN" --no-pci --file-prefix "$PREFIX" $MEM --log-level=lib.eal:error --lcores "$(lcores "$n")" \
		-- --dir "$dir" --flows "$FLOWS" --pods "$PODS" --remotes "$REMOTES" --inflight "$INFLIGHT" \
		"${SERVICES[@]}" "$@" 2> >(grep -v "^TELEMETRY" >&2)
}

# tshark's view of the sample frames: IPv4 checksums good, TTLs, VXLAN VNI (encap).
tshark_check() {
	local dir=$1 pcap=$2
	command -v tshark >/dev/null || { echo "  (tshark not installed: sample frames not decoded)"; return 0; }
	local rows bad
	rows=$(tshark -r "$pcap" -o ip.check_checksum:TRUE -T fields -E separator=';' \
		-e frame.len -e ip.src -e ip.dst -e ip.ttl -e ip.checksum.status -e udp.dstport -e vxlan.vni 2>/dev/null)
	if [ "$dir" = encap ]; then
		bad=$(awk -F';' '$1 != 114 || $4 != "64,63" || $5 != "1,1" || $6 != "4789,5001" || $7 != 1' <<<"$rows")
	else
		bad=$(awk -F';' '$1 != 64 || $4 != 63 || $5 != 1 || $6 != 5001 || $7 != ""' <<<"$rows")
	fi
	echo "  tshark on $(wc -l <<<"$rows") sample frames (len;src;dst;ttl;checksum 1=good;dport;vni):"
	head -2 <<<"$rows" | sed 's/^/    /'
	if [ -z "$rows" ] || [ -n "$bad" ]; then
		echo "  tshark disagrees:" >&2
		echo "${bad:-(no frames)}" | sed 's/^/    /' >&2
		return 1
	fi
}

echo "graph_bench: $NCPU CPUs ($(lscpu | sed -n 's/^Model name: *//p')), EAL memory: $MEM"
echo "flows $FLOWS, pods $PODS, remote nodes $REMOTES, ${DURATION}s window after ${WARMUP}s warm-up"

# Self-test: with the wrong VNI on the bench's end of the tunnel each direction must fail
# its checks (exit 3): encap frames differ from the expected ones, decap frames are dropped.
for dir in ${DIRS//,/ }; do
	rc=0
	bench 1 "$dir" --duration 0.3 --warmup 0 --quiet --wrong-vni >"$RUN/selftest-$dir.log" || rc=$?
	if [ "$rc" -ne 3 ]; then
		cat "$RUN/selftest-$dir.log"
		echo "self-test: $dir with a wrong VNI exited $rc, not 3: the checks do not work" >&2
		exit 1
	fi
	echo "self-test $dir: a wrong VNI is caught ($(grep -o 'dropped by sluice: .*\|[1-9][0-9]* bad' "$RUN/selftest-$dir.log" | head -1))"
done

failed=0
for dir in ${DIRS//,/ }; do
	for n in ${WORKERS//,/ }; do
		echo
		echo "=== $dir, $n worker(s), lcores $(lcores "$n") ==="
		rc=0
		bench "$n" "$dir" --duration "$DURATION" --warmup "$WARMUP" --verify-every "$VERIFY" \
			--label "$dir-${n}w" --json "$RUN/$dir-$n.json" --pcap "$RUN/$dir-$n.pcap" || rc=$?
		if [ "$rc" -ne 0 ]; then
			echo "FAILED: $dir with $n worker(s) exited $rc" >&2
			failed=1
			continue
		fi
		tshark_check "$dir" "$RUN/$dir-$n.pcap" || failed=1
	done
done

rc=0
python3 - "$RUN" "$OUT/graph-$STAMP.json" "$WORKERS" "$DIRS" "$failed" <<'PY' || rc=$?
import json, os, subprocess, sys
run, out, workers, dirs, failed = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
workers = [int(w) for w in workers.split(",")]
dirs = dirs.split(",")
runs = []
for d in dirs:
    for n in workers:
        try:
            runs.append(json.load(open(f"{run}/{d}-{n}.json")))
        except (OSError, ValueError):
            pass
def find(d, n):
    return next((r for r in runs if r["direction"] == d and r["workers"] == n), None)
scaling = {}
for d in dirs:
    one = find(d, 1)
    for r in runs:
        if r["direction"] != d or r["workers"] == 1 or not one:
            continue
        per_cpu = lambda x: sum(w["mpps_per_cpu_second"] for w in x["per_worker"]) / len(x["per_worker"])
        scaling[f"{d}_{r['workers']}w_vs_1w"] = {
            "mpps_ratio": round(r["mpps_total"] / one["mpps_total"], 2) if one["mpps_total"] else None,
            "per_worker_mpps_per_cpu_second_ratio":
                round(per_cpu(r) / per_cpu(one), 2) if per_cpu(one) else None,
        }
ok = not int(failed) and all(r["check"]["ok"] for r in runs) and len(runs) == len(dirs) * len(workers)
model = subprocess.run(["sh", "-c", "lscpu | sed -n 's/^Model name: *//p'"], capture_output=True,
                       text=True).stdout.strip()
res = {
    "scenario": "sluice forwarding graph alone (net_ring ports, frames recycled on the worker), "
                "64-byte pod UDP <-> 114-byte VXLAN",
    "machine": {"cpus": os.cpu_count(), "model": model},
    "cores": "control lcore on CPU 0; 1 worker: CPU 1; 2 workers: CPU 1 and CPU 0, the "
             "second sharing CPU 0 with the (sleeping) control thread",
    "ok": ok, "scaling": scaling, "runs": runs,
}
json.dump(res, open(out, "w"), indent=2)
print()
print(f"{'run':10} {'Mpps':>7} {'per wkr':>8} {'cpu share':>10} {'Mpps/cpu-s':>11} "
      f"{'graph cyc':>10} {'io cyc':>7}  check")
for r in runs:
    pw = r["per_worker"]
    share = " ".join(f"{w['cpu_share']*100:.0f}%" for w in pw)
    per_cpu = " ".join(f"{w['mpps_per_cpu_second']:.2f}" for w in pw)
    graph = sum(w["graph_cycles_per_packet_on_cpu"] * w["packets"] for w in pw) / max(1, r["packets"])
    io = sum(w["bench_io_cycles_per_packet_on_cpu"] * w["packets"] for w in pw) / max(1, r["packets"])
    print(f"{r['label']:10} {r['mpps_total']:7.2f} {r['mpps_per_worker']:8.2f} {share:>10} "
          f"{per_cpu:>11} {graph:10.1f} {io:7.1f}  {'OK' if r['check']['ok'] else 'FAILED'}")
for k, v in scaling.items():
    print(f"{k}: total Mpps x{v['mpps_ratio']}, per-worker Mpps per CPU-second "
          f"x{v['per_worker_mpps_per_cpu_second_ratio']}")
print("graph cyc / io cyc: cycles per packet in the graph's nodes / in the bench's recycling, "
      "estimated on the CPU (raw TSC figures in the JSON)")
print(f"results: {out}" + ("" if ok else "  (NOT VALID: a check failed)"))
sys.exit(0 if ok else 1)
PY
/usr/bin/python3 perf/plot_graph.py "$OUT/graph-$STAMP.json" -o "$OUT/graph-$STAMP.png" &&
	echo "chart: $OUT/graph-$STAMP.png"
exit $rc
