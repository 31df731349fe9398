#!/bin/bash
# Build what the VM test boots: Debian's own kernel (linux-image-amd64, unpacked, never
# installed) and a busybox initramfs with the virtio-net modules, iperf3 and init.sh.
# Installs qemu-system-x86, cpio, busybox-static and iperf3 when missing (idempotent); the
# kernel is cached in /var/cache/sluice-vm. Usage (root): tests/vm/mkvm.sh OUTDIR
# Prints "KERNEL INITRD" on success.
set -euo pipefail
OUT=${1:?usage: mkvm.sh OUTDIR}
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=/var/cache/sluice-vm
MODULES="virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover
	net_failover virtio_net"

missing=()
for p in qemu-system-x86 cpio busybox-static iperf3; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	echo "mkvm: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq >/dev/null
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if [ ! -s "$CACHE/vmlinuz" ]; then
	pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/ {print $2; exit}')
	[ -n "$pkg" ] || { echo "mkvm: no linux-image-amd64 in the package lists" >&2; exit 1; }
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' EXIT
	(cd "$tmp" && apt-get download -q "$pkg" >/dev/null 2>&1) ||
		{ echo "mkvm: apt-get download $pkg failed" >&2; exit 1; }
	dpkg-deb -x "$tmp"/*.deb "$tmp/root"
	mkdir -p "$CACHE/modules"
	for m in $MODULES; do
		f=$(find "$tmp/root/lib/modules" -name "$m.ko*" | head -1)
		[ -n "$f" ] || { echo "mkvm: $m.ko not in $pkg" >&2; exit 1; }
		case $f in
		*.xz) xz -dc "$f" >"$CACHE/modules/$m.ko" ;;
		*) cp "$f" "$CACHE/modules/$m.ko" ;;
		esac
	done
	cp "$tmp"/root/boot/vmlinuz-* "$CACHE/vmlinuz"
fi

stage=$(mktemp -d)
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,lib/modules} "$OUT"
cp /bin/busybox "$stage/bin/"
cp "$CACHE"/modules/*.ko "$stage/lib/modules/"
cp /usr/bin/iperf3 "$stage/bin/"
for lib in $(ldd /usr/bin/iperf3 | grep -o '/[^ ]*'); do
	mkdir -p "$stage/$(dirname "$lib")"
	cp -L "$lib" "$stage/$lib"
done
cp "$HERE/init.sh" "$stage/init"
chmod +x "$stage/init"
(cd "$stage" && find . | cpio -o -H newc 2>/dev/null) | gzip -1 >"$OUT/initrd.gz"
rm -rf "$stage"
echo "$CACHE/vmlinuz $OUT/initrd.gz"
