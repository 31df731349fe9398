#!/bin/bash
# Prepare a Debian 12 machine for sluice: packages (idempotent), 2 MiB hugepages, hugetlbfs
# and bpffs mounts. Safe to run again. Usage: sudo scripts/setup.sh
set -euo pipefail

PACKAGES=(
	# build
	gcc clang libclang-rt-14-dev pkg-config meson ninja-build
	libdpdk-dev dpdk-dev libxdp-dev libbpf-dev libcjson-dev libcurl4-openssl-dev libyaml-dev
	libcmocka-dev libmnl-dev libmicrohttpd-dev
	# perf/tap_batch_bench.c (sluice-tap-batch-bench; meson skips it without)
	liburing-dev
	# tests, demo, benchmarks
	iproute2 iputils-ping ethtool netcat-openbsd socat tcpdump tshark iperf3 xdp-tools
	procps bc python3 python3-matplotlib containernetworking-plugins
	# the Kubernetes sync test: real clients against the stand-in API server
	kubectl python3-kubernetes openssl
	# peer dataplane in the benchmarks (perf/): Open vSwitch 3.1 built with DPDK
	openvswitch-switch-dpdk
	# kernel Service paths in perf/services_bench.sh (kube-proxy's iptables and nftables layouts)
	iptables nftables conntrack
	# /metrics checked with the official Prometheus text parser; deploy/ YAML parsed
	python3-prometheus-client python3-yaml python3-kubernetes
)
HUGEPAGES=${SL_HUGEPAGES:-1024} # 2 MiB pages wanted (2 GiB)

[ "$(id -u)" = 0 ] || { echo "setup.sh: run as root" >&2; exit 1; }

missing=()
for p in "${PACKAGES[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "setup: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -q
	apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# The DPDK build of ovs-vswitchd (perf/ runs it by path; this makes ovs-vswitchd be it too).
# The package's own service is not started here: the benchmarks start their own instances.
if [ -x /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk ]; then
	update-alternatives --set ovs-vswitchd /usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk >/dev/null
fi

# Hugepages: reserve what we can; sluiced falls back to --no-huge where there are none.
nr=/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages
if [ -w "$nr" ] && [ "$(cat "$nr")" -lt "$HUGEPAGES" ]; then
	echo "$HUGEPAGES" >"$nr" 2>/dev/null || true
fi
if ! mount | grep -q "type hugetlbfs"; then
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages 2>/dev/null || true
fi
if ! mount | grep -q "type bpf"; then
	mount -t bpf bpf /sys/fs/bpf 2>/dev/null || true
fi
echo "setup: $(grep HugePages_Free /proc/meminfo | tr -s ' ') (2 MiB), bpffs $(mount | grep -q 'type bpf' && echo mounted || echo absent)"
