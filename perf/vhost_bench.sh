#!/bin/bash
# Benchmark: what each pod attachment costs. 64-byte UDP from one pod to another on the
# same node through one sluiced worker, measured side by side in one run:
#   vhost     DPDK pod -> sluiced -> DPDK pod (sluice-gen virtio_user ports; sluiced is
#             the vhost-user client of both)
#   tso       the same pods, but 9014-byte TCP frames with TSO (MSS 1398) that sluiced
#             segments (guest-offload): Gbit/s of TCP payload delivered, as a VM sends
#   ceiling   the same two virtio_user ports joined by dpdk-testpmd io-forward between two
#             net_vhost ports (no routing: the vhost-user copy cost alone)
#   af_xdp    kernel pod -> sluiced -> kernel pod (sluice-gen AF_XDP on the pods' eth0)
#   vxlan     DPDK pod on node 1 -> VXLAN -> DPDK pod on node 2 (two sluiced, one worker
#             each; on a 2-core machine node 2's worker shares core 0 with the generator)
# Prints pps, loss and latency, the ratio vhost/ceiling (target >= 0.6), writes
# perf/results/vhost-<time>.json and .png. Usage: sudo perf/vhost_bench.sh [--duration S]
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=5
[ "${1:-}" = --duration ] && DURATION=$2
source scripts/lib/eal.sh
MEM=$(sl_eal_mem)
GEN_MEM=$MEM
[ "$MEM" = "--no-huge -m 512" ] || GEN_MEM="$MEM --single-file-segments"
B=${SL_BUILD:-build}
OUT=perf/results
STAMP=$(date +%Y%m%d-%H%M%S)
RUN=$(mktemp -d /tmp/slq-XXXX)
mkdir -p "$OUT" "$RUN/vhost"
GW_MAC=02:5c:00:00:00:01 MAC_A=02:de:00:00:00:0a MAC_B=02:de:00:00:00:0b MAC_C=02:de:00:00:00:0c
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill -INT "$p" 2>/dev/null || true; done
	for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
	for n in slq-n1 slq-n2 slq-pa slq-pb; do ip netns del $n 2>/dev/null || true; done
	[ -n "${KEEP:-}" ] || rm -rf "$RUN"
}
trap cleanup EXIT
nsx() { local n=$1; shift; ip netns exec "$n" "$@"; }
mac_of() { nsx "$1" cat "/sys/class/net/$2/address"; }

for n in slq-n1 slq-n2 slq-pa slq-pb; do ip netns del $n 2>/dev/null || true; ip netns add $n; done
ip link add sl-up0 netns slq-n1 type veth peer name sl-up0 netns slq-n2
ip link add eth0 netns slq-pa type veth peer name pa netns slq-n1
ip link add eth0 netns slq-pb type veth peer name pb netns slq-n1
for l in "slq-n1 sl-up0" "slq-n2 sl-up0" "slq-pa eth0" "slq-pb eth0" "slq-n1 pa" "slq-n1 pb"; do
	set -- $l
	nsx "$1" ip link set "$2" up
	nsx "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
done

# gen LABEL TX RX SRC_MAC DST_MAC SRC_IP DST_IP [SLUICE-GEN OPTIONS]
gen() {
	echo "--- $1: ${DURATION}s of ${8:+$8 $9 }64-byte UDP"
	"$B/perf/sluice-gen" --no-pci -l 0 --file-prefix slq-gen $GEN_MEM --log-level=lib.eal:error \
		-- --tx-port "$2" --rx-port "$3" --src-mac "$4" --dst-mac "$5" --src-ip "$6" \
		--dst-ip "$7" --flows 1024 --duration "$DURATION" --warmup 3 --label "$1" \
		--json "$RUN/$1.json" --quiet "${@:8}" 2>&1 | grep -E "^(rx|lat|tso) " || true
}
VA="-:net_virtio_user0,path=$RUN/vhost/a.sock,server=1,queues=1,mac=$MAC_A"
VB="-:net_virtio_user1,path=$RUN/vhost/b.sock,server=1,queues=1,mac=$MAC_B"
VC="-:net_virtio_user2,path=$RUN/vhost/c.sock,server=1,queues=1,mac=$MAC_C"

cat >"$RUN/n1.json" <<JSON
{"node": {"name": "bench", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"},
 "uplink": {"devargs": "net_af_xdp0,iface=sl-up0"},
 "host": {"enabled": false},
 "pods": [
  {"name": "dpa", "interface": "vhost-user", "socket": "$RUN/vhost/a.sock", "ip": "10.244.1.10", "mac": "$MAC_A"},
  {"name": "dpb", "interface": "vhost-user", "socket": "$RUN/vhost/b.sock", "ip": "10.244.1.11", "mac": "$MAC_B"},
  {"name": "pa", "ifname": "pa", "ip": "10.244.1.2", "mac": "$(mac_of slq-pa eth0)"},
  {"name": "pb", "ifname": "pb", "ip": "10.244.1.3", "mac": "$(mac_of slq-pb eth0)"}],
 "nodes": [{"name": "n2", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24"}]}
JSON
cat >"$RUN/n2.json" <<JSON
{"node": {"name": "bench2", "ip": "198.18.0.2", "pod_cidr": "10.244.2.0/24"},
 "uplink": {"devargs": "net_af_xdp0,iface=sl-up0"},
 "host": {"enabled": false},
 "pods": [{"name": "dpc", "interface": "vhost-user", "socket": "$RUN/vhost/c.sock", "ip": "10.244.2.10", "mac": "$MAC_C"}],
 "nodes": [{"name": "n1", "ip": "198.18.0.1", "pod_cidr": "10.244.1.0/24"}]}
JSON
ip netns exec slq-n1 "$B/control/sluiced" -c "$RUN/n1.json" -s "$RUN/n1.sock" -- -l 0,1 \
	--main-lcore 0 --no-pci --file-prefix slq-n1 $MEM --log-level=lib.eal:error \
	>"$RUN/sluiced.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$RUN/n1.sock" ] && break; sleep 0.1; done
gen vhost "$VA" "$VB" $MAC_A $GW_MAC 10.244.1.10 10.244.1.11
"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show drops >"$RUN/drops0.json"
gen tso "$VA" "$VB" $MAC_A $GW_MAC 10.244.1.10 10.244.1.11 --tso 1398
"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show drops >"$RUN/drops1.json"
gen af_xdp "slq-pa:net_af_xdp10,iface=eth0" "slq-pb:net_af_xdp11,iface=eth0" \
	"$(mac_of slq-pa eth0)" $GW_MAC 10.244.1.2 10.244.1.3
"$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show graph >"$RUN/graph.json"
ip netns exec slq-n2 "$B/control/sluiced" -c "$RUN/n2.json" -s "$RUN/n2.sock" -- -l 1,0 \
	--main-lcore 1 --no-pci --file-prefix slq-n2 $MEM --log-level=lib.eal:error \
	>"$RUN/sluiced2.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do [ -S "$RUN/n2.sock" ] && break; sleep 0.1; done
for _ in $(seq 50); do "$B/control/cli/sluicectl" -s "$RUN/n1.sock" -o json show neighbors | grep -q reachable && break; sleep 0.1; done
gen vxlan "$VA" "$VC" $MAC_A $GW_MAC 10.244.1.10 10.244.2.10
for p in "${pids[@]}"; do kill -TERM "$p"; wait "$p" || true; done
pids=()

# Ceiling: testpmd joins the two virtio_user ports through two net_vhost ports (clients).
dpdk-testpmd -l 0,1 --main-lcore 0 --no-pci --file-prefix slq-tp $MEM --log-level=lib.eal:error \
	--vdev "net_vhost0,iface=$RUN/vhost/a.sock,client=1,queues=1" \
	--vdev "net_vhost1,iface=$RUN/vhost/b.sock,client=1,queues=1" \
	-- --forward-mode=io --auto-start --nb-cores=1 --stats-period 60 >"$RUN/testpmd.log" 2>&1 &
pids+=($!)
sleep 2
gen ceiling "$VA" "$VB" $MAC_A $MAC_B 10.244.1.10 10.244.1.11
kill -INT "${pids[0]}"; wait "${pids[0]}" || true
pids=()

python3 - "$RUN" "$OUT/vhost-$STAMP.json" <<'PY'
import json, sys
run, out = sys.argv[1], sys.argv[2]
paths = {}
for l in ("vhost", "ceiling", "af_xdp", "vxlan"):
    try:
        paths[l] = json.load(open(f"{run}/{l}.json"))
    except (OSError, ValueError):
        paths[l] = None
pps = lambda l: (paths[l] or {}).get("rx_pps", 0.0)
ratio = pps("vhost") / pps("ceiling") if pps("ceiling") else None
graph = json.load(open(f"{run}/graph.json"))
json.dump({"scenario": "pod to pod on one node, one sluiced worker, 64-byte UDP",
           "paths": paths, "ratio_vhost_vs_ceiling": ratio, "graph": graph},
          open(out, "w"), indent=2)
print(f"\n{'path':8} {'rx kpps':>9} {'loss %':>7} {'p50 us':>7} {'p99 us':>7}")
for l, p in paths.items():
    if not p:
        print(f"{l:8} (failed)")
        continue
    lat = p["lat_ns"]
    print(f"{l:8} {p['rx_pps']/1e3:9.1f} {p['loss_pct']:7.2f} {lat['p50']/1e3:7.1f} {lat['p99']/1e3:7.1f}")
print(f"\nvhost/ceiling = {'n/a' if ratio is None else f'{ratio:.2f}'}   (target >= 0.6)")
try:
    t = json.load(open(f"{run}/tso.json"))
    d0, d1 = ({d["reason"]: d["packets"] for d in json.load(open(f"{run}/drops{i}.json"))}
              for i in (0, 1))
    drops = {r: n - d0.get(r, 0) for r, n in d1.items() if n - d0.get(r, 0)}
    sent = t["tx_packets"] * 7  # 8960 payload bytes per frame: 7 segments of MSS 1398
    print(f"tso: {t['tx_packets'] / t['duration_s'] / 1e3:.1f} k frames/s of 9014 bytes in "
          f"(= {sent / t['duration_s'] / 1e3:.0f} k segments/s), "
          f"{t['rx_tcp_segments'] / t['duration_s'] / 1e3:.1f} k segments/s out, "
          f"{t['rx_tcp_gbps']:.2f} Gbit/s of TCP delivered, bad payload "
          f"{t['rx_tcp_bad_payload']}; sluiced drops during it: {drops}")
    json.dump(dict(json.load(open(out)), tso=t), open(out, "w"), indent=2)
except (OSError, ValueError, KeyError) as e:
    print(f"tso: (failed: {e})")
print(f"results: {out}")
PY
for l in vhost ceiling af_xdp vxlan; do [ -f "$RUN/$l.json" ] && cat "$RUN/$l.json"; echo; done >"$RUN/all.jsonl"
/usr/bin/python3 perf/plot.py "$RUN/all.jsonl" --baseline ceiling \
	--title "64-byte UDP pod -> pod on one node, one core" -o "$OUT/vhost-$STAMP.png" &&
	echo "chart: $OUT/vhost-$STAMP.png"
