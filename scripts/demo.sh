#!/bin/bash
# The sluice demo: two nodes in network namespaces, each running sluiced with one worker,
# two kernel pods per node, VXLAN between the nodes. Node 1 starts on the embedded default
# configuration and gets its pods and its peer through sluicectl at run time; node 2 starts
# from a config file. Real traffic (ping, TCP), then counters, graph costs and a packet
# trace; everything is torn down at the end. Usage: sudo scripts/demo.sh
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
scripts/build.sh >/dev/null
source scripts/lib/topo.sh
source scripts/lib/eal.sh
SL_EAL_MEM=$(sl_eal_mem)
SL_VNI=1 # the embedded default config uses VNI 1 (as flannel does)
demo_down() { topo_down; for t in t1 t2; do ip netns del "$(ns $t)" 2>/dev/null || true; done; }
trap demo_down EXIT

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "topology: namespaces sl-n1, sl-n2 (nodes), sl-p1a/b, sl-p2a/b (pods), sl-ul (underlay)"
topo_up
node_start 1 -
node_start 2
say "node1 runs the embedded default config; adding its pods and node2 with sluicectl"
for p in p1a p1b; do
	ip=10.244.1.$([ $p = p1a ] && echo 2 || echo 3)
	ctl 1 pod add name=$p namespace=default ip=$ip mac="$(pod_mac $p)" ifname=$p
done
ctl 1 node add name=node2 ip=198.18.0.2 pod_cidr=10.244.2.0/24
wait_vtep 1 && wait_vtep 2
ctl 1 show pods
ctl 1 show routes

say "ping: pod->gateway, pod->pod (same node), pod->pod (across VXLAN), node->pod, pod->node"
in_ns p1a ping -c 3 -i 0.2 -q 10.244.1.1 | tail -2
in_ns p1a ping -c 3 -i 0.2 -q 10.244.1.3 | tail -2
in_ns p1a ping -c 3 -i 0.2 -q 10.244.2.2 | tail -2
in_ns n1 ping -c 3 -i 0.2 -q 10.244.2.3 | tail -2
in_ns p2b ping -c 3 -i 0.2 -q 198.18.0.1 | tail -2

say "TCP across nodes: iperf3 p1a -> p2a for 5 s (pod MTU 1450, VXLAN)"
in_ns p2a iperf3 -s -1 -D -p 5201 --logfile /dev/null
sleep 0.5
in_ns p1a timeout 20 iperf3 -c 10.244.2.2 -p 5201 -t 5 -f m | grep -E "sender|receiver"

say "TCP on one node between tap pods (\"interface\": \"tap\", for kernel pods moving TCP: 64 KB frames cross sluice whole): iperf3 t1 -> t2 for 5 s"
for t in t1 t2; do
	ip netns add "$(ns $t)"
	ctl 1 pod add name=$t ip=10.244.1.1${t#t} mac=02:74:00:00:00:0${t#t} interface=tap ifname=$t \
		netns=/run/netns/"$(ns $t)" >/dev/null
	in_ns n1 ip link set $t netns "$(ns $t)"
	in_ns $t ip link set $t name eth0
	in_ns $t ip link set lo up
	in_ns $t ip link set eth0 up
	in_ns $t ip addr add 10.244.1.1${t#t}/32 dev eth0
	in_ns $t ip route add 10.244.1.1 dev eth0 scope link
	in_ns $t ip route add default via 10.244.1.1 dev eth0 onlink
done
in_ns t2 iperf3 -s -1 -D -p 5201 --logfile /dev/null
sleep 0.5
in_ns t1 timeout 20 iperf3 -c 10.244.1.12 -p 5201 -t 5 -f m | grep -E "sender|receiver"
for t in t1 t2; do ctl 1 pod del name=$t >/dev/null; done

say "node1 counters (sluicectl show stats)"
ctl 1 show stats
say "node1 cost per graph node (sluicectl show graph)"
ctl 1 show graph
say "a packet's path (sluicectl trace 2, while p1a pings p2b)"
in_ns p1a ping -c 6 -i 0.2 -q 10.244.2.3 >/dev/null &
pinger=$!
ctl 1 trace 2
wait "$pinger" # (a plain wait would also wait for the daemons)
say "done; tearing down"
