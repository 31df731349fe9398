# What the Services tests share (source after scripts/lib/topo.sh and check.sh): backends
# that report who answered and whom they saw, the client that asks them, a router with a
# client network outside the cluster, and the cleanup of all of it.

SVC_PIDS=()   # processes to kill at the end (backends, long-running clients)
SVC_NS=()     # extra namespaces (router, client, CNI pods) to delete at the end

# svc_cleanup: the EXIT trap of a Services test.
svc_cleanup() {
	for p in "${SVC_PIDS[@]}"; do kill "$p" 2>/dev/null; wait "$p" 2>/dev/null; done
	topo_down
	for n in "${SVC_NS[@]}"; do ip netns del "$(ns "$n")" 2>/dev/null; done
	rm -rf "$SL_RUN"
}

# svc_nodes_up [PYTHON]: start nodes 1 and 2 with a small conntrack table (the default, 1M
# flows, needs ~270 MiB) and wait for their VTEPs; PYTHON (statements on the config dict c,
# and $n) adjusts each node's config.
svc_nodes_up() {
	local n
	for n in 1 2; do
		node_config "$n" | N=$n python3 -c '
import json, os, sys
c = json.load(sys.stdin)
n = int(os.environ["N"])
c["conntrack"] = {"size": 65536}
'"${1:-}"'
print(json.dumps(c))' >"$SL_RUN/n$n.json" || return 1
		node_start "$n" "$SL_RUN/n$n.json" || return 1
	done
	wait_vtep 1 && wait_vtep 2 || { echo "VTEPs unresolved"; return 1; }
}

# svc_serve NS PORT [SCRIPT]: run tests/integration/SCRIPT (default svc_backend.py: answers
# "NS client:port") in pod namespace NS on PORT, killed by svc_cleanup (wait_listen waits
# for it). Started with ip netns exec, not `in_ns ... &`, so $! is the server itself.
svc_serve() {
	ip netns exec "$(ns "$1")" python3 "tests/integration/${3:-svc_backend.py}" "$1" "$2" &
	SVC_PIDS+=($!)
}

# svc_router ROUTE...: router namespace "rt" (198.18.0.254 on the underlay, 198.18.1.1 on the
# client network) and client namespace "cl" (198.18.1.2, default route via the router);
# each ROUTE ("10.96.100.10/32 via 198.18.0.2") is added to the router.
svc_router() {
	local r
	SVC_NS+=(rt cl)
	ip netns del "$(ns rt)" 2>/dev/null
	ip netns del "$(ns cl)" 2>/dev/null
	ip netns add "$(ns rt)"
	ip netns add "$(ns cl)"
	ip link add rt0 netns "$(ns rt)" type veth peer name rt netns "$(ns ul)"
	in_ns ul ip link set rt master br0 up
	ip link add rt1 netns "$(ns rt)" type veth peer name eth0 netns "$(ns cl)"
	in_ns rt sysctl -qw net.ipv4.ip_forward=1 net.ipv4.fib_multipath_hash_policy=1 \
		net.ipv6.conf.all.disable_ipv6=1
	in_ns rt ip link set lo up
	in_ns rt ip addr add 198.18.0.254/24 dev rt0
	in_ns rt ip link set rt0 up
	in_ns rt ip addr add 198.18.1.1/24 dev rt1
	in_ns rt ip link set rt1 up
	for r in "$@"; do
		# shellcheck disable=SC2086 # a route is several words
		in_ns rt ip route add $r
	done
	in_ns cl sysctl -qw net.ipv6.conf.all.disable_ipv6=1
	in_ns cl ip link set lo up
	in_ns cl ip addr add 198.18.1.2/24 dev eth0
	in_ns cl ip link set eth0 up
	in_ns cl ip route add default via 198.18.1.1
	# The wire carries full checksums (veth would hand XDP a partial one, see topo_pod).
	in_ns cl ethtool -K eth0 tx off >/dev/null
	in_ns rt ethtool -K rt0 tx off >/dev/null
	in_ns rt ethtool -K rt1 tx off >/dev/null
}

# client NS tcp|udp VIP PORT N: tests/integration/svc_client.py in namespace NS (one JSON
# line: answers per backend, the client addresses each saw, errors).
client() { in_ns "$1" python3 tests/integration/svc_client.py "${@:2}"; }

# expect JSON_LINE PYTHON_EXPR: the client's result (as r) must satisfy the expression.
expect() {
	echo "$1"
	python3 -c 'import json, sys; r = json.loads(sys.argv[1]); sys.exit(0 if eval(sys.argv[2]) else 1)' "$1" "$2"
}
