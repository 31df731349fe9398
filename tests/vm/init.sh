#!/bin/busybox sh
# PID 1 of the test VM (see mkvm.sh): brings up eth0 (virtio-net on vhost-user) from the
# kernel command line (sl.ip=A/32 sl.gw=G sl.mtu=M sl.peers=P1,P2), then for each peer runs TCP to it
# (iperf3 with 4 flows, iperf3 reverse, 8 MB through nc with its sha256) and prints
# "SL-VM: ..." result lines on the serial console for the host side to read, and stays up
# (connected) until the host side ends QEMU.
/bin/busybox --install -s /bin
mount -t proc proc /proc
mount -t sysfs sys /sys
mount -t devtmpfs dev /dev
mount -t tmpfs tmp /tmp
for m in virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover \
	net_failover virtio_net; do
	insmod /lib/modules/$m.ko
done
arg() { tr ' ' '\n' </proc/cmdline | sed -n "s/^sl\.$1=//p"; }
say() { echo "SL-VM: $*"; }
ip link set lo up
ip link set eth0 mtu "$(arg mtu)" up
ip addr add "$(arg ip)" dev eth0
ip route add "$(arg gw)" dev eth0 scope link
ip route add default via "$(arg gw)" dev eth0 onlink
# Let the kernel hash flows over the TX queues instead of one queue per CPU (XPS).
for q in /sys/class/net/eth0/queues/tx-*/xps_cpus; do echo 0 >"$q"; done 2>/dev/null
say "up, $(ls -d /sys/class/net/eth0/queues/tx-* | wc -l) tx queues, virtio features" \
	"$(cat /sys/class/net/eth0/device/features)"
n=0
until ping -c 1 -W 1 "$(arg gw)" >/dev/null 2>&1; do
	n=$((n + 1))
	[ $n -lt 60 ] || { say "failed: gateway unreachable"; say "done"; exec sleep 100000; }
done
say "gateway reachable"
for p in $(arg peers | tr , ' '); do
	r=$(iperf3 -c "$p" -t 4 -P 4 -f m 2>&1 | grep 'SUM.*receiver' | awk '{print $6}')
	say "iperf $p ${r:-failed}"
	r=$(iperf3 -c "$p" -t 3 -P 2 -R -f m 2>&1 | grep 'SUM.*receiver' | awk '{print $6}')
	say "iperf-reverse $p ${r:-failed}"
	dd if=/dev/urandom of=/tmp/f bs=1M count=8 2>/dev/null
	say "sha $p $(sha256sum </tmp/f | cut -d' ' -f1)"
	nc "$p" 5002 </tmp/f || say "nc $p failed"
done
say "done"
exec sleep 100000
