#!/bin/bash
# vhost-user socket isolation, sluiced's side (docs/cni.md "What the node trusts"): a port
# takes one connection at a time (a second client of a server-mode port is refused, the
# first keeps the port); a server-mode socket belongs to the owner of its directory (the
# pod's user); sluiced never follows a symbolic link on the way to a socket: a symlinked
# directory is refused at pod add, and a directory swapped for a symlink after the add
# does not make pod del unlink what the link points to. A --state path that is a link or
# too long is refused at start.
# Usage (root, repo root): SL_BUILD=build bash tests/integration/vhost_isolation.sh
set -u
cd "$(dirname "$0")/../.."
export SL_PREFIX=${SL_PREFIX:-slvi-} SL_RUN=${SL_RUN:-/tmp/slvi-run}
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 512}
source scripts/lib/topo.sh
source scripts/lib/check.sh
trap 'topo_down; [ -n "${SL_KEEP:-}" ] || rm -rf "$SL_RUN"' EXIT
topo_up
node_start 1 || exit 1
V=$SL_RUN/vhost
MAC=02:de:00:00:00:20
mkdir -p "$V/a" "$V/u" "$V/b" "$V/victim"
add() { ctl 1 pod add name="$1" interface=vhost-user vhost_mode=server socket="$2" ip="$3" mac=$MAC; }
# A socket root must not remove: what a pod would point sluiced at (a runtime's socket).
python3 -c "import socket, sys; socket.socket(socket.AF_UNIX).bind(sys.argv[1])" "$V/victim/v.sock"
chown 4999:4999 "$V/victim/v.sock" # a socket sluiced recreated there would be root's
VICTIM_ID=$(stat -c %i:%u "$V/victim/v.sock")
victim_intact() { test -S "$V/victim/v.sock" && test "$(stat -c %i:%u "$V/victim/v.sock")" = "$VICTIM_ID"; }

check "server-mode vhost-user port added" add s1 "$V/a/s1.sock" 10.244.1.20
check "a second connection to a port that has one is refused; the first keeps the port" \
	python3 tests/integration/vhost_peer.py "$V/a/s1.sock" second
check "... and sluiced logs the refusal" \
	grep -q "vhost-user $V/a/s1.sock: refused a connection: the port already has a connection (1 refused" \
	"$SL_RUN/node1.log"

chown 4321:4322 "$V/u"
chmod 0700 "$V/u"
check "server-mode port in a pod's directory (uid 4321)" add s2 "$V/u/s2.sock" 10.244.1.21
check "... its socket is the pod user's" test "$(stat -c %u:%g "$V/u/s2.sock")" = 4321:4322

ln -s "$V/victim" "$V/link"
refused_link() {
	local out; out=$(add s3 "$V/link/v.sock" 10.244.1.22 2>&1)
	echo "$out"
	grep -q "directory $V/link: is a symbolic link or not a directory" <<<"$out"
}
check "a socket path through a symbolic link is refused at pod add, naming the link" refused_link
check "... and the socket the link leads to is still the same one" victim_intact

check "server-mode port s4 added" add s4 "$V/b/v.sock" 10.244.1.23
mv "$V/b" "$V/b.old"
ln -s "$V/victim" "$V/b"
check "pod del after its directory was swapped for a symlink" ctl 1 pod del name=s4
check "... leaves the socket the symlink leads to alone" victim_intact
check "... and removed its own socket in the directory it had opened" test ! -e "$V/b.old/v.sock"
check "server-mode ports removed" bash -c "$(declare -f ctl); SL_BUILD=$SL_BUILD SL_RUN=$SL_RUN; ctl 1 pod del name=s1 && ctl 1 pod del name=s2"
check "the refused socket path left no pod behind" bash -c "! $SL_BUILD/control/cli/sluicectl -s $SL_RUN/node1.sock -o json show pods | grep -q '\"s3\"'"
# The state file (sluiced --state) is never followed or truncated: refused at start.
ln -s /etc/hostname "$SL_RUN/linked.state.json"
refuses_state() { # STATE WANT
	local out; out=$(timeout 20 "$SL_BUILD/control/sluiced" -s "$SL_RUN/x.sock" --state "$1" -- -l 0 --no-pci --file-prefix "${SL_PREFIX}st" --no-huge -m 64 2>&1)
	local rc=$?
	echo "$out"
	[ "$rc" = 2 ] && grep -q -- "$2" <<<"$out"
}
check "sluiced refuses to start with a --state that is a symbolic link" \
	refuses_state "$SL_RUN/linked.state.json" "--state: .* is not a regular file (a symbolic link"
check "sluiced refuses to start with a --state path that does not fit" \
	refuses_state "/$(printf 's%.0s' $(seq 4100))" "--state: path is 4101 bytes"
check_summary
