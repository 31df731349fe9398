# shellcheck shell=bash
# Tap pods (issue 13) on the two-node topology of topo.sh (sourced after it): the pods'
# eth0 is a tap device sluiced creates ("interface": "tap", drivers/sl_tap.h) instead of
# a veth. Usage, per node N (1 or 2), with the pod namespaces from topo_up:
#   tap_pods_veth_del N        delete the pods' veths (the namespaces stay)
#   tap_pods_config N FILE     rewrite node N's config FILE: its pods become tap pods
#   node_start N FILE          sluiced creates p<N>a, p<N>b as taps in the node namespace
#   tap_pods_attach N          move each tap into its pod namespace as eth0 and configure it
#   node_stop N                the taps go with sluiced's descriptors
#   tap_pods_veth_add N        the veths back, as topo_up made them
# Pod MTU: SL_POD_MTU (default 1450).

tap_pod_mac() { printf '02:74:61:70:%02x:%02x\n' "${1:1:1}" "$(printf '%d' "'${1:2:1}")"; }
tap_pod_ip() { local n=${1:1:1}; [ "${1:2:1}" = a ] && echo "10.244.$n.2" || echo "10.244.$n.3"; }

tap_pods_veth_del() {
	for p in p${1}a p${1}b; do in_ns "n$1" ip link del "$p" 2>/dev/null || true; done
}

tap_pods_config() {
	python3 - "$2" "$(tap_pod_mac "p${1}a")" "$(tap_pod_mac "p${1}b")" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	for p, mac in zip(c["pods"], sys.argv[2:]):
	    p["interface"] = "tap"
	    p["mac"] = mac
	json.dump(c, open(sys.argv[1], "w"))
	PY
}

# Configure pod POD's eth0 as topo_pod does for a veth (the tap is already in its namespace).
tap_pod_ifup() {
	local p=$1 n=${1:1:1} mtu=${SL_POD_MTU:-1450}
	in_ns "$p" ip link set lo up
	in_ns "$p" ip link set eth0 mtu "$mtu" up
	in_ns "$p" ip addr add "$(tap_pod_ip "$p")/32" dev eth0
	in_ns "$p" ip route add "10.244.$n.1" dev eth0 scope link
	in_ns "$p" ip route add default via "10.244.$n.1" dev eth0 onlink
}

# As sluice-cni does: each tap into its pod namespace, and the receive steering sluiced
# names (version tap_rps_cpus, drivers/sl_tap.h "Receive steering") on its queues.
tap_pods_attach() {
	local rps
	rps=$(ctl "$1" -o json version | python3 -c 'import json, sys; print(json.load(sys.stdin).get("tap_rps_cpus", ""))')
	for p in p${1}a p${1}b; do
		in_ns "n$1" ip link set "$p" netns "$(ns "$p")"
		in_ns "$p" ip link set "$p" name eth0
		[ -z "$rps" ] || ip netns exec "$(ns "$p")" sh -c "for q in /sys/class/net/eth0/queues/rx-*/rps_cpus; do echo $rps >\$q; done"
		tap_pod_ifup "$p"
	done
}

tap_pods_veth_add() {
	local n=$1 mtu=${SL_POD_MTU:-1450}
	for p in p${n}a p${n}b; do
		in_ns "$p" ip link del eth0 2>/dev/null || true
		ip link add "$p" netns "$(ns "n$n")" type veth peer name eth0 netns "$(ns "$p")"
		in_ns "$p" ip link set eth0 mtu "$mtu" up
		in_ns "$p" ip addr add "$(tap_pod_ip "$p")/32" dev eth0
		in_ns "$p" ip route add "10.244.$n.1" dev eth0 scope link
		in_ns "$p" ip route add default via "10.244.$n.1" dev eth0 onlink
		in_ns "$p" ethtool -K eth0 tx off >/dev/null 2>&1 || true
		in_ns "n$n" ip link set "$p" mtu "$mtu" up
	done
}

# Tap uplink (uplink.kind "tap", drivers/sl_tap.h "Tap uplink"): sluiced creates the tap
# sl-tup0 in node N's namespace; a bridge sl-upbr there joins it with the underlay veth
# sl-up0 (sluice keeps the node's underlay IP and MAC, as with the AF_XDP uplink).
#   tap_uplink_config N FILE [TUNNEL_GSO]   node N's uplink becomes the tap (true/false)
#   tap_uplink_prepare N                    sl-upbr with sl-up0 as a port, before sluiced
#   node_start N FILE                       sluiced creates sl-tup0
#   tap_uplink_bridge N                     sl-tup0 joins sl-upbr
# The node's IP is sluice's and also the host port's (sl-host), so the node's kernel must
# never see the underlay's ARP on an interface of its own: with ARP on, it answers for that
# IP with that interface's MAC and the peer sends the VXLAN traffic to the kernel. Hence the
# bridge does no ARP ("arp off", IFF_NOARP), and sl-up0 is a bridge port before sluiced
# starts (a standalone sl-up0 would answer too: seen as a peer stuck on the wrong MAC).
tap_uplink_config() {
	python3 - "$2" "${3:-true}" <<-'PY'
	import json, sys
	c = json.load(open(sys.argv[1]))
	c["uplink"] = {"kind": "tap", "ifname": "sl-tup0", "mtu": c["uplink"].get("mtu", 1500),
	               "tunnel_gso": sys.argv[2] == "true"}
	json.dump(c, open(sys.argv[1], "w"))
	PY
}

tap_uplink_prepare() {
	local n=$1
	in_ns "n$n" ip link add sl-upbr type bridge 2>/dev/null || true
	in_ns "n$n" ip link set sl-upbr arp off
	in_ns "n$n" ip link set sl-up0 master sl-upbr
	in_ns "n$n" ip link set sl-upbr up
}

tap_uplink_bridge() {
	tap_uplink_prepare "$1"
	in_ns "n$1" ip link set sl-tup0 master sl-upbr
}

# tap_cni VERB OUT CONTAINER_ID POD_NAME [PREV_RESULT]: sluice-cni VERB with "interface":
# "tap" (TAP_CNI_IFACE, "" for none: node.pod_interface decides) against node 1's sluiced, for a pod namespace $CNI_NS the caller made, as a runtime
# execs it (host-local IPAM 10.244.1.100-110, its data in $T/ipam); the result in OUT.
tap_cni() {
	local cfg=$T/cni.json
	python3 - "$SL_RUN" "$T" "${5:-}" "${TAP_CNI_IFACE-tap}" >"$cfg" <<-'PY'
	import json, sys
	c = {"cniVersion": "1.0.0", "name": "sluice", "type": "sluice-cni",
	     "socket": sys.argv[1] + "/node1.sock",
	     "ipam": {"type": "host-local", "rangeStart": "10.244.1.100", "rangeEnd": "10.244.1.110",
	              "dataDir": sys.argv[2] + "/ipam"}}
	if sys.argv[3]:
	    c["prevResult"] = json.load(open(sys.argv[3]))
	if sys.argv[4]:
	    c["interface"] = sys.argv[4]
	print(json.dumps(c))
	PY
	ip netns exec "$(ns n1)" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND="$1" \
		CNI_CONTAINERID="$3" CNI_IFNAME=eth0 CNI_NETNS="/var/run/netns/$CNI_NS" \
		CNI_PATH=/usr/lib/cni CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=default;K8S_POD_NAME=$4" \
		"$SL_BUILD/cni/sluice-cni" <"$cfg" >"$2"
}
