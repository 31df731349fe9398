# Open vSwitch with DPDK (Debian 12 openvswitch-switch-dpdk, OVS 3.1, userspace datapath) as
# a peer dataplane in the benchmarks. One instance = one ovsdb-server + one ovs-vswitchd-dpdk
# with their own run/db/log directory; ovs-vswitchd runs inside a node namespace, its PMD
# thread pinned to one core, its other threads to another. Nothing touches the system's own
# /var/run/openvswitch or /etc/openvswitch.
#
#   sl_ovs_start NAME DIR NETNS PMD_CORE OTHER_CORE FILE_PREFIX MEM [MAXSLEEP_US]
#   sl_ovs_use NAME                 # later ovs_* calls talk to that instance
#   ovs_vsctl ARGS / ovs_ofctl ARGS / ovs_appctl ARGS
#   sl_ovs_pmd_json CORE            # PMD counters of CORE as one JSON object
#   sl_ovs_port_stats PORT          # "rx_packets tx_packets tx_dropped" of a datapath port
#   sl_ovs_stop NAME                # exit --cleanup (ports, XDP programs, taps go), then
#                                   # ovsdb-server; by PID, idempotent
#   sl_ovs_stop_all                 # for the caller's EXIT trap
#
# We run the DPDK build by its path rather than through the ovs-vswitchd alternative, so a
# machine where the alternative still points at the non-DPDK build works too.
SL_OVS_VSWITCHD=${SL_OVS_VSWITCHD:-/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk}
SL_OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
declare -A SL_OVS_DIRS=() SL_OVS_VPID=() SL_OVS_DBPID=() SL_OVS_PREFIX=()
SL_OVS_DIR=

sl_ovs_check() {
	local f
	for f in "$SL_OVS_VSWITCHD" "$SL_OVS_SCHEMA" "$(command -v ovsdb-server)" \
		"$(command -v ovs-vsctl)"; do
		[ -n "$f" ] && [ -e "$f" ] || {
			echo "ovs: ${f:-ovsdb-server/ovs-vsctl} missing: apt-get install openvswitch-switch-dpdk (scripts/setup.sh)" >&2
			return 1
		}
	done
}

sl_ovs_use() {
	SL_OVS_DIR=${SL_OVS_DIRS[$1]}
	export OVS_RUNDIR=$SL_OVS_DIR OVS_DBDIR=$SL_OVS_DIR OVS_LOGDIR=$SL_OVS_DIR
	export OVS_SYSCONFDIR=$SL_OVS_DIR OVS_PKGDATADIR=/usr/share/openvswitch
}
ovs_vsctl() { ovs-vsctl --db="unix:$SL_OVS_DIR/db.sock" --timeout=60 "$@"; }
ovs_appctl() { ovs-appctl -t "$SL_OVS_DIR/ovs-vswitchd.ctl" "$@"; }
# ovs-ofctl reaches a bridge through $OVS_RUNDIR/BRIDGE.mgmt (set by sl_ovs_use).
ovs_ofctl() { ovs-ofctl "$@"; }

# sl_ovs_eal_mem MEM: OVS's EAL memory for sluice's $MEM (scripts/lib/eal.sh), so OVS runs
# on the same kind of memory as sluiced. Without hugepages, --legacy-mem stops OVS adding
# --in-memory, which --no-huge conflicts with. OVS halves its shared mbuf pool until it
# fits; with hugepages we ask for 512 MiB (131072 mbufs fit) so two instances and the
# generator fit in the 2 GiB setup.sh reserves.
sl_ovs_eal_mem() {
	case $1 in
	*--no-huge*) echo "--no-huge --legacy-mem -m 1024" ;;
	*) echo "-m 512" ;;
	esac
}

# sl_ovs_start NAME DIR NETNS PMD_CORE OTHER_CORE FILE_PREFIX MEM [MAXSLEEP_US]
# MAXSLEEP_US (default 0: OVS's default, the PMD always spins) lets an idle PMD sleep up to
# that long, as an idle sluiced worker does (up to idle_sleep_max_us, 200): for a PMD that
# shares the generator's core, which a spinning PMD would starve.
sl_ovs_start() {
	local name=$1 dir=$2 ns=$3 pmd=$4 other=$5 prefix=$6 mem=$7 maxsleep=${8:-0} pid i
	SL_OVS_DIRS[$name]=$dir
	SL_OVS_PREFIX[$name]=$prefix
	mkdir -p "$dir"
	sl_ovs_use "$name"
	echo "ovs[$name]: ovsdb-server + ovs-vswitchd-dpdk in $ns, PMD on core $pmd (max sleep $maxsleep us), rest on core $other"
	ovsdb-tool create "$dir/conf.db" "$SL_OVS_SCHEMA"
	taskset -c "$other" ovsdb-server "$dir/conf.db" --remote="punix:$dir/db.sock" \
		--unixctl="$dir/ovsdb-server.ctl" --pidfile="$dir/ovsdb-server.pid" \
		--log-file="$dir/ovsdb-server.log" -vconsole:off >"$dir/ovsdb-server.out" 2>&1 &
	SL_OVS_DBPID[$name]=$!
	for i in $(seq 100); do [ -S "$dir/db.sock" ] && break; sleep 0.1; done
	ovs_vsctl --no-wait init
	# pmd-cpu-mask: one PMD thread, on the forwarding core under test. dpdk-lcore-mask is
	# deprecated in 3.1; the non-PMD threads stay where taskset put them. pmd-maxsleep (3.1,
	# experimental; default 0 = always spin): see sl_ovs_start's MAXSLEEP_US.
	ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
		other_config:pmd-cpu-mask="$(printf 0x%x $((1 << pmd)))" \
		other_config:pmd-maxsleep="$maxsleep" \
		other_config:dpdk-extra="$(sl_ovs_eal_mem "$mem") --file-prefix=$prefix --no-pci"
	# ip netns exec and taskset both exec: $! is ovs-vswitchd itself.
	ip netns exec "$ns" taskset -c "$other" "$SL_OVS_VSWITCHD" "unix:$dir/db.sock" \
		--unixctl="$dir/ovs-vswitchd.ctl" --pidfile="$dir/ovs-vswitchd.pid" \
		--log-file="$dir/ovs-vswitchd.log" -vconsole:off >"$dir/ovs-vswitchd.out" 2>&1 &
	pid=$!
	SL_OVS_VPID[$name]=$pid
	for i in $(seq 600); do
		[ "$(ovs_vsctl get Open_vSwitch . dpdk_initialized 2>/dev/null)" = true ] && break
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	if [ "$(ovs_vsctl get Open_vSwitch . dpdk_initialized 2>/dev/null)" != true ]; then
		echo "ovs[$name]: DPDK did not initialise; ovs-vswitchd log:" >&2
		grep -E "ERR|EMER|EAL" "$dir/ovs-vswitchd.log" | tail -n 15 >&2
		return 1
	fi
	echo "ovs[$name]: $(ovs_vsctl get Open_vSwitch . dpdk_version), EAL: $(grep -o 'EAL ARGS: .*' "$dir/ovs-vswitchd.log" | head -n1)"
}

# sl_ovs_wait_port PORT: until the interface is up in OVS or has an error (printed).
sl_ovs_wait_port() {
	local i err
	for i in $(seq 100); do
		err=$(ovs_vsctl get Interface "$1" error 2>/dev/null || true)
		if [ -n "$err" ] && [ "$err" != '[]' ]; then
			echo "ovs: port $1: $err" >&2
			return 1
		fi
		[ "$(ovs_vsctl get Interface "$1" ofport 2>/dev/null)" -gt 0 ] 2>/dev/null && return 0
		sleep 0.1
	done
	echo "ovs: port $1 did not come up" >&2
	return 1
}

# sl_ovs_pmd_json CORE: "packets received", idle and processing cycles of the PMD on CORE
# (dpif-netdev/pmd-stats-show, counted since the last pmd-stats-clear), as JSON.
# "core_share_pct" is pmd-perf-show's "Used TSC cycles" share: how much of the time since
# the clear the PMD actually ran; well below 100 means the core was shared (a noisy figure).
sl_ovs_pmd_json() {
	local share
	share=$(ovs_appctl dpif-netdev/pmd-perf-show | awk -v core="$1" '
		/^pmd thread/ { on = ($0 ~ ("core_id " core ":")) }
		on && /Used TSC cycles:/ { sub(/.*\( */, ""); print $1 + 0; exit }')
	ovs_appctl dpif-netdev/pmd-stats-show | awk -v core="$1" -v share="${share:-null}" '
		/^[a-z]/ { on = ($0 ~ /^pmd thread/ && $0 ~ ("core_id " core ":")) }
		on && /packets received:/ { pk = $3 }
		on && /idle cycles:/ { idle = $3 }
		on && /processing cycles:/ && !/avg/ { proc = $3 }
		END {
			if (pk == "") { print "null"; exit }
			printf "{\"core\": %d, \"packets\": %.0f, \"idle_cycles\": %.0f, \"processing_cycles\": %.0f, ", core, pk, idle, proc
			printf "\"processing_cycles_per_packet\": %.1f, \"cycles_per_packet\": %.1f, ",
				pk ? proc / pk : 0, pk ? (proc + idle) / pk : 0
			printf "\"core_share_pct\": %s}\n", share
		}'
}

# sl_ovs_port_stats PORT: the datapath's own counters of PORT (dpctl/show -s, live, unlike
# the Interface statistics column which ovs-vswitchd refreshes every 5 s). A counter the
# port type does not keep ("?") reads as -1.
sl_ovs_port_stats() {
	ovs_appctl dpctl/show -s | awk -v port="$1" '
		# A port whose stats fail prints ", could not retrieve stats (...)" and the next
		# "port N: NAME" on the same line.
		match($0, /port [0-9]+: [^ ]+/) {
			split(substr($0, RSTART, RLENGTH), w, " "); on = (w[3] == port)
		}
		on && /^ +RX packets:/ { split($2, a, ":"); rx = a[2] }
		on && /^ +TX packets:/ { split($2, a, ":"); tx = a[2]; split($4, d, ":"); drop = d[2] }
		function n(v) { return v ~ /^[0-9]+$/ ? v : -1 }
		END { print n(rx), n(tx), n(drop) }'
}

# sl_ovs_sent PORT: frames the datapath sent to PORT. From the port's own TX counter; where
# OVS cannot read it (a vhost-user port whose peer has gone: "could not retrieve stats"),
# from the datapath flows whose actions end in output to PORT (read them within 10 s of the
# traffic, before the flows idle out). Prints "COUNT port|flows".
sl_ovs_sent() {
	local tx no
	read -r _ tx _ <<<"$(sl_ovs_port_stats "$1")"
	if [ "$tx" -ge 0 ]; then
		echo "$tx port"
		return
	fi
	no=$(ovs_appctl dpctl/show | awk -v port="$1" '$1 == "port" && $3 == port { sub(":", "", $2); print $2 }')
	ovs_appctl dpctl/dump-flows | awk -v no="$no" '
		/ packets:/ {
			a = $0; sub(/.*actions:/, "", a)
			if (no != "" && (a ~ ("(^|,)" no "$") || a ~ ("out_port\\(" no "\\)"))) {
				p = $0; sub(/.* packets:/, "", p); sub(/,.*/, "", p); sum += p
			}
		}
		END { printf "%.0f flows\n", sum }'
}

sl_ovs_stop() {
	local name=$1 vpid=${SL_OVS_VPID[$1]:-} dbpid=${SL_OVS_DBPID[$1]:-} i
	[ -n "${SL_OVS_DIRS[$name]:-}" ] || return 0
	sl_ovs_use "$name"
	if [ -n "$vpid" ] && kill -0 "$vpid" 2>/dev/null; then
		# --cleanup deletes the datapath ports: XDP programs come off the veths and the
		# bridges' tap devices go, so the next path finds the ports as they were.
		timeout 20 ovs-appctl -t "$SL_OVS_DIR/ovs-vswitchd.ctl" exit --cleanup >/dev/null 2>&1 || true
		for i in $(seq 100); do kill -0 "$vpid" 2>/dev/null || break; sleep 0.1; done
		kill -TERM "$vpid" 2>/dev/null || true
		wait "$vpid" 2>/dev/null || true
	fi
	if [ -n "$dbpid" ] && kill -0 "$dbpid" 2>/dev/null; then
		kill -TERM "$dbpid" 2>/dev/null || true
		wait "$dbpid" 2>/dev/null || true
	fi
	rm -rf "/var/run/dpdk/${SL_OVS_PREFIX[$name]}"
	unset "SL_OVS_VPID[$name]" "SL_OVS_DBPID[$name]"
}

sl_ovs_stop_all() {
	local n
	for n in "${!SL_OVS_DIRS[@]}"; do sl_ovs_stop "$n"; done
}
