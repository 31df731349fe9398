#!/bin/bash
# A VM as the NFV pod: QEMU (TCG) boots Debian's kernel with a virtio-net NIC on vhost-user,
# two queue pairs, checksum and TSO offloads on (tests/vm/). sluiced (two workers on node 1)
# is the vhost-user client. The guest's own TCP stack sends 64 KiB TSO frames with partial
# checksums; sluiced must segment and complete them. Checks: TCP from the VM to a kernel pod
# on the same node and on node 2 (VXLAN) with iperf3 both ways and 8 MB with sha256, both
# queue pairs carrying traffic on different workers, guest-offload at work, no bad drops;
# then sluiced restarts under the running VM and the VM is reachable again.
# Prints the iperf3 rates (Mbit/s; the guest runs under TCG, so they bound nothing).
# Usage (root, repo root): SL_BUILD=build bash tests/integration/vm.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-sl}vm-
export SL_RUN=${SL_RUN:-/tmp/${SL_PREFIX}run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
export SL_LCORES_1="--lcores 0@0,1@1,2@0 --main-lcore 0"
export SL_UPLINK_PMD=${SL_UPLINK_PMD:-net_af_packet} # two workers: see two_workers.sh
source scripts/lib/topo.sh
source scripts/lib/check.sh
PIDS=()
cleanup() {
	for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
	topo_down
	[ -n "${SL_KEEP:-}" ] || rm -rf "$SL_RUN"
}
trap cleanup EXIT
mkdir -p "$SL_RUN/vhost"
read -r KERNEL INITRD < <(tests/vm/mkvm.sh "$SL_RUN/vm" | tail -1) || true
[ -s "${INITRD:-}" ] || { echo "not ok - VM image could not be built"; exit 1; }

topo_up
node_start 1 || exit 1
node_start 2 || exit 1
wait_vtep 1; wait_vtep 2
SOCK=$SL_RUN/vhost/vm.sock
VM_MAC=02:de:00:00:00:20
check "vhost-user VM pod added" \
	ctl 1 pod add name=vm1 interface=vhost-user socket="$SOCK" ip=10.244.1.20 mac=$VM_MAC

for p in p1a p2a; do # (ip netns exec directly, so that $! is the process to end)
	ip netns exec "$(ns $p)" iperf3 -s >/dev/null 2>&1 &
	PIDS+=($!)
	ip netns exec "$(ns $p)" timeout 300 nc -l -p 5002 >"$SL_RUN/got.$p" &
	PIDS+=($!)
done
MTU=$(ctl 1 -o json show ports | python3 -c "import json,sys; print([p['mtu'] for p in json.load(sys.stdin) if p['name']=='p1a'][0])")
# QEMU owns the socket (server) and waits for sluiced to connect before it starts the VM.
timeout 400 qemu-system-x86_64 -machine q35,accel=tcg -smp 2 -m 512 -display none \
	-monitor none -serial "file:$SL_RUN/vm.log" -no-reboot \
	-object memory-backend-memfd,id=mem,size=512M,share=on -numa node,memdev=mem \
	-kernel "$KERNEL" -initrd "$INITRD" \
	-append "console=ttyS0 panic=-1 quiet sl.ip=10.244.1.20/32 sl.gw=10.244.1.1 sl.mtu=$MTU sl.peers=10.244.1.2,10.244.2.2" \
	-chardev "socket,id=vu,path=$SOCK,server=on,wait=on" \
	-netdev vhost-user,id=n0,chardev=vu,queues=2 \
	-device "virtio-net-pci,netdev=n0,mac=$VM_MAC,mq=on,vectors=0,mrg_rxbuf=on,csum=on,host_tso4=on" \
	>"$SL_RUN/qemu.log" 2>&1 &
QEMU=$!
PIDS+=($QEMU)
vm_said() { tr -d '\r' 2>/dev/null <"$SL_RUN/vm.log" | grep -a "SL-VM: $1\( \|$\)"; }
for _ in $(seq 360); do
	vm_said done >/dev/null && break
	kill -0 $QEMU 2>/dev/null || break
	sleep 1
done
tr -d '\r' <"$SL_RUN/vm.log" | grep -a "SL-VM" | sed 's/^/# /'
check "the VM finished its run" vm_said done
two_queues() {
	ctl 1 -o json show pods | python3 -c "
import json, sys
p = [p for p in json.load(sys.stdin) if p['name'] == 'vm1'][0]
sys.exit(not (p['queues'] == 2 and p['state'] == 'connected'))"
}
check "sluiced shows the VM connected with 2 queue pairs" two_queues
rate_ok() { local r; r=$(vm_said "$1 $2" | awk '{print $4}'); [ -n "$r" ] && [ "$r" != failed ] && python3 -c "import sys; sys.exit(not float('$r') > 1)"; }
for p in p1a:10.244.1.2 p2a:10.244.2.2; do
	name=${p%%:*} ip=${p#*:}
	check "VM -> $name TCP (iperf3, 4 flows)" rate_ok iperf "$ip"
	check "$name -> VM TCP (iperf3 reverse, 2 flows)" rate_ok iperf-reverse "$ip"
	want=$(vm_said "sha $ip" | awk '{print $4}')
	check "VM -> $name 8 MB intact (sha256)" test -n "$want" -a "$want" = "$(sha256sum <"$SL_RUN/got.$name" | cut -d' ' -f1)"
done
# Traffic to the VM from both pods: p1a and p1b are on different workers, so each of the
# VM's queue pairs is sent to by the worker that polls it.
for p in p1a p1b; do
	check "$p -> VM ping" in_ns $p ping -c 50 -i 0.02 -W 2 -q 10.244.1.20
done
ctl 1 show vhost
per_queue() { # both queue pairs received and sent, on two different workers
	ctl 1 -o json show vhost | python3 -c "
import json, sys
q = [r for r in json.load(sys.stdin) if r['name'] == 'vm1']
sys.exit(not (len(q) == 2 and q[0]['worker'] != q[1]['worker'] and
              all(r['rx_packets'] > 100 and r['tx_packets'] >= 50 for r in q)))"
}
check "both queue pairs carry traffic, each on its own worker" per_queue
offloaded() { # guest-offload segmented TSO frames
	local n
	n=$(ctl 1 -o json show graph | python3 -c "
import json, sys
print(sum(r['packets'] for r in json.load(sys.stdin) if r['node'] == 'guest-offload'))")
	note "guest-offload handled $n frames"
	[ "$n" -gt 100 ]
}
check "the VM's TSO frames went through guest-offload" offloaded
no_bad_drops() { # (tx-full is expected: a TCG guest drains its receive ring slowly)
	ctl 1 -o json show drops | python3 -c "
import json, sys
bad = {'offload-malformed', 'frame-too-big', 'no-mbuf'}
d = {r['reason']: r['packets'] for r in json.load(sys.stdin) if r['reason'] in bad and r['packets']}
print(d); sys.exit(bool(d))"
}
check "no offload or size drops" no_bad_drops

# sluiced restarts under the running VM: the pod comes back from the state file and
# sluiced reconnects to QEMU's socket; the guest's driver renegotiates (no VM restart).
check "sluiced stops cleanly with the VM attached (SIGTERM, exit 0)" node_stop 1
node_start 1 || exit 1
connected() { ctl 1 -o json show pods | grep -A8 '"vm1"' | grep -q '"state":.*"connected"'; }
for _ in $(seq 30); do connected && break; sleep 1; done
check "after sluiced restarts, the VM is re-attached without restarting" connected
check "... with both queue pairs enabled again" two_queues
check "p1a -> VM ping after the restart" in_ns p1a ping -c 3 -i 0.5 -W 3 10.244.1.20
check "QEMU is still the same process" kill -0 $QEMU
check "node 1 stops cleanly with the VM connected (SIGTERM, exit 0)" node_stop 1
check "node 2 stops cleanly" node_stop 2
check_summary
