#!/bin/sh
# Install sluice-cni on this node: the plugin into the CNI binary directory and
# 10-sluice.conflist into the CNI configuration directory. Idempotent: files that are
# already identical are left alone, changed ones are replaced atomically (copy to a
# temporary name in the same directory, then rename), so a runtime exec'ing the plugin or
# reading the configuration at the same moment sees the old or the new file, never half
# of one. Run as root from anywhere; sluiced itself is not touched.
#
#   deploy/install-cni.sh [--check]
#
# --check only reports what would change (exit status 1 when something would).
# Environment: SL_BUILD (build directory, default <repo>/build), CNI_BIN_DIR (default
# /opt/cni/bin), CNI_CONF_DIR (default /etc/cni/net.d).
set -eu

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${SL_BUILD:-$ROOT/build}
case $BUILD in /*) ;; *) BUILD=$ROOT/$BUILD ;; esac
BIN_DIR=${CNI_BIN_DIR:-/opt/cni/bin}
CONF_DIR=${CNI_CONF_DIR:-/etc/cni/net.d}
PLUGIN=$BUILD/cni/sluice-cni
# SL_CONFLIST=deploy/10-sluice-hostport.conflist: hostPort by sluiced itself, no portmap.
CONFLIST=${SL_CONFLIST:-$ROOT/deploy/10-sluice.conflist}
CHECK=0
[ "${1:-}" = --check ] && CHECK=1

[ -x "$PLUGIN" ] || { echo "install-cni.sh: $PLUGIN missing (ninja -C $BUILD)" >&2; exit 2; }
[ -f "$CONFLIST" ] || { echo "install-cni.sh: $CONFLIST missing" >&2; exit 2; }
# A configuration the runtime cannot parse would take the node's pod networking down.
if command -v python3 >/dev/null 2>&1; then
	python3 -c 'import json, sys; json.load(open(sys.argv[1]))' "$CONFLIST" ||
		{ echo "install-cni.sh: $CONFLIST is not valid JSON" >&2; exit 2; }
fi
# The plugin answers VERSION without sluiced: a binary that cannot run is caught here.
echo '{"cniVersion":"1.1.0"}' | CNI_COMMAND=VERSION "$PLUGIN" | grep -q '"1.1.0"' ||
	{ echo "install-cni.sh: $PLUGIN does not answer CNI VERSION" >&2; exit 2; }

changed=0
# put SRC DST MODE
put() {
	if [ -f "$2" ] && cmp -s "$1" "$2"; then
		echo "unchanged  $2"
		return 0
	fi
	changed=1
	if [ "$CHECK" = 1 ]; then
		echo "would copy $1 -> $2"
		return 0
	fi
	mkdir -p "$(dirname "$2")"
	tmp=$(dirname "$2")/.$(basename "$2").tmp.$$
	cp "$1" "$tmp"
	chmod "$3" "$tmp"
	mv -f "$tmp" "$2"
	echo "installed  $2"
}

put "$PLUGIN" "$BIN_DIR/sluice-cni" 0755
put "$CONFLIST" "$CONF_DIR/10-sluice.conflist" 0644

# The chain needs the reference plugins next to ours.
for p in host-local portmap; do
	[ -x "$BIN_DIR/$p" ] ||
		echo "warning: $BIN_DIR/$p is missing (install containernetworking-plugins)" >&2
done
# A configuration that sorts before ours is the runtime's default network instead.
if [ "$CHECK" = 0 ] || [ -d "$CONF_DIR" ]; then
	for f in $(ls "$CONF_DIR" | LC_ALL=C sort); do
		case $f in
		10-sluice.conflist) break ;;
		*.conf | *.conflist | *.json)
			echo "note: $CONF_DIR/$f sorts before 10-sluice.conflist (the runtime" \
				"uses the first configuration; with Multus that is expected)" >&2 ;;
		esac
	done
fi
[ ! -S /run/sluice/sluiced.sock ] &&
	echo "note: /run/sluice/sluiced.sock does not exist yet: pods get CNI error 11 until sluiced runs" >&2

[ "$CHECK" = 1 ] && [ "$changed" = 1 ] && exit 1
exit 0
