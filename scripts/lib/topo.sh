# Two-node sluice topology in network namespaces (sourced by demo, tests and perf).
#
#   pod ns  sl-p1a (10.244.1.2)  sl-p1b (10.244.1.3)      sl-p2a (10.244.2.2)  sl-p2b (10.244.2.3)
#             eth0                 eth0                      eth0                 eth0
#              |                    |                         |                    |
#   node ns  p1a  ---- sluiced ----  p1b                     p2a ---- sluiced ---- p2b
#                  sl-n1: sl-up0 198.18.0.1                 sl-n2: sl-up0 198.18.0.2
#                         |     sl-host (tap, node's kernel)       |     sl-host
#                         +---- n1 -- [ sl-ul: bridge br0 ] -- n2 -+
#   The underlay "switch" namespace sl-ul lets tests capture the wire (tcpdump -i br0).
#
# Everything lives in namespaces prefixed $SL_PREFIX (default "sl-"); nothing touches the
# machine's own interfaces. Requires: ip, ethtool.

SL_PREFIX=${SL_PREFIX:-sl-}
SL_BUILD=${SL_BUILD:-build}
SL_RUN=${SL_RUN:-/run/sluice}
SL_EAL_MEM=${SL_EAL_MEM:-}      # e.g. "--no-huge -m 512"; empty = hugepages
SL_VNI=${SL_VNI:-42}            # VXLAN network identifier of node_config
SL_UPLINK_PMD=${SL_UPLINK_PMD:-net_af_xdp} # uplink ethdev driver (net_af_xdp, net_af_packet)
declare -A SL_PID

ns() { echo "${SL_PREFIX}$1"; }
in_ns() { local n=$1; shift; ip netns exec "$(ns "$n")" "$@"; }

# topo_pod NODE POD IP: a pod namespace with eth0 (/32, default via the gateway), its
# host end named POD in the node namespace.
topo_pod() {
	local node=$1 pod=$2 ip=$3 gw=$4 mtu=${5:-1450}
	ip netns add "$(ns "$pod")"
	ip link add "$pod" netns "$(ns "$node")" type veth peer name eth0 netns "$(ns "$pod")"
	in_ns "$pod" ip link set lo up
	in_ns "$pod" ip link set eth0 mtu "$mtu" up
	in_ns "$pod" ip addr add "$ip/32" dev eth0
	in_ns "$pod" ip route add "$gw" dev eth0 scope link
	in_ns "$pod" ip route add default via "$gw" dev eth0 onlink
	# veth's XDP path sees what the peer sends: full checksums, no offload shortcuts.
	in_ns "$pod" ethtool -K eth0 tx off >/dev/null 2>&1 || true
	in_ns "$node" ip link set "$pod" mtu "$mtu" up
}

pod_mac() { in_ns "$1" cat /sys/class/net/eth0/address; }

topo_up() {
	topo_down 2>/dev/null
	rm -f "$SL_RUN"/*.state.json # run-time state of an earlier run (sluiced --state)
	ip netns add "$(ns ul)"
	in_ns ul sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	in_ns ul ip link add br0 type bridge
	in_ns ul ip link set br0 up
	for n in n1 n2; do
		# SL_UPLINK_QUEUES_<node number>: queues of that node's uplink veth (RSS tests).
		local qv="SL_UPLINK_QUEUES_${n#n}" q
		q=${!qv:-1}
		ip netns add "$(ns $n)"
		ip link add sl-up0 netns "$(ns $n)" numtxqueues "$q" numrxqueues "$q" type veth \
			peer name "$n" netns "$(ns ul)" numtxqueues "$q" numrxqueues "$q"
		in_ns ul ip link set "$n" master br0 up
		in_ns $n ip link set lo up
		in_ns $n ip link set sl-up0 up
		in_ns $n sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	done
	topo_pod n1 p1a 10.244.1.2 10.244.1.1
	topo_pod n1 p1b 10.244.1.3 10.244.1.1
	topo_pod n2 p2a 10.244.2.2 10.244.2.1
	topo_pod n2 p2b 10.244.2.3 10.244.2.1
}

# Extra uplink devargs of node N: SL_UPLINK_ARGS_<N>, else SL_UPLINK_ARGS (e.g. ",queue_count=2").
uplink_args() { local v="SL_UPLINK_ARGS_$1"; echo "${!v-${SL_UPLINK_ARGS:-}}"; }

# node_config N: the JSON config of node N (1 or 2), pods included.
node_config() {
	local n=$1 o=$(( 3 - $1 ))
	cat <<JSON
{
  "node": {"name": "node$n", "ip": "198.18.0.$n", "pod_cidr": "10.244.$n.0/24",
           "cluster_cidr": "10.244.0.0/16"},
  "uplink": {"devargs": "$SL_UPLINK_PMD$n,iface=sl-up0$(uplink_args "$n")", "mtu": 1500},
  "host": {"enabled": true, "ifname": "sl-host"},
  "vxlan": {"vni": $SL_VNI, "port": 4789},
  "workers": {"idle_backoff": ${SL_IDLE_BACKOFF:-true}},
  "pods": [
    {"name": "p${n}a", "namespace": "default", "ip": "10.244.$n.2", "mac": "$(pod_mac p${n}a)", "ifname": "p${n}a"},
    {"name": "p${n}b", "namespace": "default", "ip": "10.244.$n.3", "mac": "$(pod_mac p${n}b)", "ifname": "p${n}b"}
  ],
  "nodes": [{"name": "node$o", "ip": "198.18.0.$o", "pod_cidr": "10.244.$o.0/24"}]
}
JSON
}

# node_start N [CONFIG]: start sluiced for node N inside its namespace; waits for its API.
# CONFIG "-" runs on the embedded default configuration.
node_start() {
	local n=$1 cfg=${2:-} cfg_args=()
	mkdir -p "$SL_RUN"
	if [ -z "$cfg" ]; then
		cfg=$SL_RUN/node$n.json
		node_config "$n" >"$cfg"
	fi
	[ "$cfg" = - ] || cfg_args=(-c "$cfg")
	# Worker lcore: node 1 on core 1, node 2 on core 0 (2-core machine; idle back-off on).
	# SL_LCORES_<n> overrides, e.g. "--lcores 0@0,1@1,2@0 --main-lcore 0" for two workers.
	local lcores="0,1"; [ "$n" = 2 ] && lcores="1,0"
	local lc_var="SL_LCORES_$n"
	local lc_args=(-l "$lcores" --main-lcore "${lcores%%,*}")
	[ -n "${!lc_var:-}" ] && read -r -a lc_args <<<"${!lc_var}"
	ip netns exec "$(ns n$n)" "$SL_BUILD/control/sluiced" "${cfg_args[@]}" -s "$SL_RUN/node$n.sock" \
		-- "${lc_args[@]}" --no-pci --file-prefix "${SL_PREFIX}n$n" \
		--log-level=lib.eal:error $SL_EAL_MEM >"$SL_RUN/node$n.log" 2>&1 &
	SL_PID[$n]=$!
	for _ in $(seq 100); do
		[ -S "$SL_RUN/node$n.sock" ] && ctl "$n" version >/dev/null 2>&1 && return 0
		kill -0 "${SL_PID[$n]}" 2>/dev/null || break
		sleep 0.1
	done
	echo "sluiced node$n failed to start:" >&2
	cat "$SL_RUN/node$n.log" >&2
	return 1
}

# node_stop N: SIGTERM to node N's sluiced; it must exit within SL_STOP_SECONDS (default 10)
# with status 0. Otherwise says so on stderr (with the log's last lines), SIGKILLs it when
# still running, and returns non-zero: tests assert clean shutdown with
# `check "..." node_stop N`. Returns 0 when node N is not running.
node_stop() {
	local n=$1 pid=${SL_PID[$1]:-} rc i limit=$(( ${SL_STOP_SECONDS:-10} * 10 ))
	[ -n "$pid" ] || return 0
	unset "SL_PID[$n]"
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < limit; i++)); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
	if kill -0 "$pid" 2>/dev/null; then
		kill -KILL "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
		echo "sluiced node$n still running ${SL_STOP_SECONDS:-10} s after SIGTERM: SIGKILLed" >&2
		tail -n 5 "$SL_RUN/node$n.log" >&2 2>/dev/null
		return 1
	fi
	wait "$pid" 2>/dev/null
	rc=$?
	if [ "$rc" -ne 0 ]; then
		echo "sluiced node$n exited with status $rc after SIGTERM" >&2
		tail -n 5 "$SL_RUN/node$n.log" >&2 2>/dev/null
		return "$rc"
	fi
	return 0
}

ctl() { local n=$1; shift; "$SL_BUILD/control/cli/sluicectl" -s "$SL_RUN/node$n.sock" "$@"; }

# mbufs_available N: node N's free mbufs (show stats: mbufs.available, the pool's ring plus
# every lcore's cache); fails, saying why, when it cannot be read.
mbufs_available() {
	local v
	v=$(ctl "$1" -o json show stats 2>&1 | python3 -c "import json,sys; print(json.load(sys.stdin)['mbufs']['available'])" 2>&1)
	[[ "$v" =~ ^[0-9]+$ ]] || { echo "node$1: cannot read mbufs.available: $v"; return 1; }
	echo "$v"
}

# mbufs_back N BASE [SECONDS]: wait (default 5 s) until node N has exactly BASE free mbufs
# again, once traffic has stopped. Exact: the count includes the per-lcore mempool caches,
# and no port sluiced uses keeps mbufs while idle (net_af_xdp refills its fill ring one for
# one and returns sent frames at once on veths; rte_vhost and the handoff rings hold none
# once drained), so any difference is a leak (fewer) or a double free (more). Prints the
# counts; fails when the count cannot be read or does not come back.
mbufs_back() {
	local n=$1 base=$2 secs=${3:-5} v i
	[[ "$base" =~ ^[0-9]+$ ]] || { echo "no baseline (got \"$base\")"; return 1; }
	for ((i = 0; i < secs * 10; i++)); do
		v=$(mbufs_available "$n") || { echo "$v"; return 1; }
		[ "$v" = "$base" ] && { echo "node$n: $v free mbufs, as before"; return 0; }
		sleep 0.1
	done
	echo "node$n: $v free mbufs, $base before: $((base - v)) $([ "$v" -lt "$base" ] && echo leaked || echo "freed twice")"
	return 1
}

# Wait until node N has resolved the other node's VTEP.
wait_vtep() {
	for _ in $(seq 50); do
		ctl "$1" -o json show neighbors 2>/dev/null | grep -q reachable && return 0
		sleep 0.1
	done
	return 1
}

# wait_listen NS PORT: wait (up to 5 s) until a TCP listener is up on PORT in namespace NS.
wait_listen() {
	for _ in $(seq 50); do
		in_ns "$1" ss -Hltn "sport = :$2" 2>/dev/null | grep -q . && return 0
		sleep 0.1
	done
	echo "no listener on port $2 in $(ns "$1")"
	return 1
}

# topo_down: stop every node (a node that does not stop cleanly is reported on stderr and
# makes topo_down return non-zero) and delete the namespaces.
topo_down() {
	local rc=0
	for n in "${!SL_PID[@]}"; do node_stop "$n" || rc=1; done
	for n in p1a p1b p2a p2b n1 n2 ul; do
		ip netns del "$(ns $n)" 2>/dev/null || true
	done
	rm -f "/dev/hugepages/${SL_PREFIX}"* 2>/dev/null || true
	return "$rc"
}
