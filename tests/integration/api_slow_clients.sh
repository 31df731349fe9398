#!/usr/bin/env bash
# The API socket under slow clients: sluiced's control thread must not wait for anyone.
#
#   pod ns   sll-a1 ... sll-aN, sll-b1 ... sll-bN (eth0 from 10.244.1.100-200, made by sluice-cni)
#              |
#   node ns  sll-n1: sluiced (node1)  <-- API socket -- sluice-cni, sluicectl,
#                                                       stall.py: N_STALL clients that each send
#                                                       half a request and stall
#
# Starts sluiced for node 1 (scripts/lib/topo.sh), then:
#  1. unloaded: N_ADD sequential sluice-cni ADDs and N_SHOW `sluicectl show pods`, each timed;
#  2. loaded: stall.py keeps N_STALL connections open that each sent half a request (a new
#     one as soon as sluiced closes one), `show stats` sees them open; again N_ADD ADDs and
#     N_SHOW `show pods`. 1 and 2 alternate for ROUNDS rounds. Every ADD succeeds and the
#     loaded median stays within 2x the unloaded median of this run (and `show pods` within
#     2x + 20 ms: it takes a few ms);
#  3. the stalled clients were closed after their 1 s deadline (not before 0.9 s, not after
#     1 s + the loop's worst lateness + 1 s) with {"ok":false,"error":"request: incomplete (timed out)"};
#  4. the client limit: with 128 silent clients open, one more waits (in the listen backlog)
#     until they time out, then is served;
#  5. every table listed by `sluicectl -h` can be shown (the one list of tables).
#
# Usage (as root, from the repository root):
#   bash tests/integration/api_slow_clients.sh
# Environment: SL_BUILD (default build), SLL_PREFIX (default ${SL_PREFIX}l-, sll- without SL_PREFIX: namespaces, EAL file
# prefixes, /tmp/<prefix>run), CNI_BIN (reference plugins, default /usr/lib/cni), N_STALL
# (default 50), ROUNDS (default 3), N_ADD (default 5 per phase and round), GAP (default 0.15 s between ADDs), N_SHOW (default 10 per phase and round), SLL_MEASURE_ONLY=1
# (report the figures, assert nothing about latency: for measuring an old build).
# Output: "ok - NAME" / "not ok - NAME (details)", "# ..." notes (the figures), and
# "N passed, M failed"; exit status 1 when anything failed.
set -u

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SL_BUILD=${SL_BUILD:-build}
case $SL_BUILD in
/*) ;;
*) if [ -d "$SL_BUILD" ]; then SL_BUILD=$(cd "$SL_BUILD" && pwd); else SL_BUILD=$ROOT/$SL_BUILD; fi ;;
esac
export SL_BUILD
P=${SLL_PREFIX:-${SL_PREFIX:-sl}l-}
export SL_PREFIX=$P
export SL_RUN=/tmp/${P}run
export SL_EAL_MEM=${SL_EAL_MEM-"--no-huge -m 512"}
cd "$ROOT" || exit 2
# shellcheck source=../../scripts/lib/topo.sh
source "$ROOT/scripts/lib/topo.sh"

CNI=$SL_BUILD/cni/sluice-cni
CTL=$SL_BUILD/control/cli/sluicectl
CNI_BIN=${CNI_BIN:-/usr/lib/cni}
N_STALL=${N_STALL:-50}
N_ADD=${N_ADD:-5}
ROUNDS=${ROUNDS:-3}
GAP=${GAP:-0.15}
N_SHOW=${N_SHOW:-10}
MEASURE_ONLY=${SLL_MEASURE_ONLY:-0}
SOCK=$SL_RUN/node1.sock

if [ "$(id -u)" != 0 ]; then
	echo "api_slow_clients.sh: must run as root (network namespaces, AF_XDP)" >&2
	exit 2
fi
for t in ip ethtool python3 timeout; do
	command -v "$t" >/dev/null || { echo "api_slow_clients.sh: missing tool: $t" >&2; exit 2; }
done
for b in "$CNI" "$SL_BUILD/control/sluiced" "$CTL" "$CNI_BIN/host-local"; do
	[ -x "$b" ] || { echo "api_slow_clients.sh: $b missing" >&2; exit 2; }
done

T=$(mktemp -d /tmp/${P}test.XXXXXX)
BG=() # background processes this script started (killed by PID on exit)
# shellcheck source=../../scripts/lib/check.sh
source "$ROOT/scripts/lib/check.sh"

cleanup() {
	local p live n
	live=" $(jobs -p | tr '\n' ' ') " # only our still-unreaped children: no PID reuse
	for p in "${BG[@]}"; do
		[[ $live == *" $p "* ]] && kill -TERM "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
	topo_down >/dev/null 2>&1
	for n in $(ip netns list 2>/dev/null | awk '{print $1}' | grep "^${P}[ab][0-9]"); do
		ip netns del "$n" 2>/dev/null
	done
	rm -rf "$T" "$SL_RUN/ipam"
	if [ "$FAIL" = 0 ]; then
		rm -rf "$SL_RUN"
	else
		echo "# sluiced logs kept in $SL_RUN" >&2
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# pyj EXPR [FILE]: evaluate a Python expression over a JSON document (as d).
pyj() {
	python3 -c 'import json, sys
d = json.load(open(sys.argv[2]) if len(sys.argv) > 2 else sys.stdin)
print(eval(sys.argv[1]))' "$@"
}

conf() {
	cat <<JSON
{"cniVersion":"1.0.0","name":"sluice","type":"sluice-cni","socket":"$SOCK",
 "ipam":{"type":"host-local","rangeStart":"10.244.1.100","rangeEnd":"10.244.1.200",
         "dataDir":"$SL_RUN/ipam"}}
JSON
}

# time_adds PREFIX OUT: N_ADD sequential ADDs into namespaces PREFIX1..N inside node 1's
# namespace, each timed around the plugin's exec only, GAP s apart (so the loaded phase
# spans several client deadlines); "i rc start end" lines into OUT.
time_adds() {
	ip netns exec "$(ns n1)" bash -c '
		plugin=$1 cfg=$2 prefix=$3 n=$4 cni_path=$5 dir=$6
		for ((i = 1; i <= n; i++)); do
			s=$EPOCHREALTIME
			env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin CNI_COMMAND=ADD \
				CNI_CONTAINERID=$prefix$i CNI_IFNAME=eth0 CNI_NETNS=/var/run/netns/$prefix$i \
				CNI_PATH=$cni_path \
				CNI_ARGS="IgnoreUnknown=1;K8S_POD_NAMESPACE=sll;K8S_POD_NAME=$prefix$i" \
				"$plugin" <"$cfg" >"$dir/$prefix$i.json" 2>>"$dir/cni.stderr"
			rc=$?
			echo "$i $rc $s $EPOCHREALTIME"
			sleep "$7"
		done' _ "$CNI" "$T/conf.json" "$1" "$N_ADD" "$CNI_BIN" "$T" "$GAP" >"$2"
}

# time_shows OUT: N_SHOW `sluicectl show pods`, each timed; "i rc start end" lines.
time_shows() {
	local i s rc
	for ((i = 1; i <= N_SHOW; i++)); do
		s=$EPOCHREALTIME
		"$CTL" -s "$SOCK" -o json show pods >"$T/show.out" 2>&1
		rc=$?
		echo "$i $rc $s $EPOCHREALTIME"
	done >"$1"
}

median() { # TIMES-FILE: median in ms
	python3 - "$1" <<'PY'
import sys
ms = sorted((float(r[3]) - float(r[2])) * 1000 for r in (l.split() for l in open(sys.argv[1])) if r)
n = len(ms)
print(f"{(ms[(n - 1) // 2] + ms[n // 2]) / 2:.2f}")
PY
}

summary() { # TIMES-FILE
	python3 - "$1" <<'PY'
import sys
rows = [l.split() for l in open(sys.argv[1]) if l.strip()]
ms = sorted((float(r[3]) - float(r[2])) * 1000 for r in rows)
n = len(ms)
print(f"median {(ms[(n - 1) // 2] + ms[n // 2]) / 2:.1f} ms, min {ms[0]:.1f}, max {ms[-1]:.1f} "
      f"(n={n}, failures {sum(1 for r in rows if r[1] != '0')})")
PY
}

all_ok() { # TIMES-FILE N
	local bad
	bad=$(awk '$2 != 0' "$1" | head -3)
	[ -z "$bad" ] || fail "failed runs: $bad ($(tail -n 2 "$T/cni.stderr" 2>/dev/null))"
	[ "$(wc -l <"$1")" = "$2" ] || fail "$(wc -l <"$1") runs, want $2"
}

within() { # LOADED-FILE UNLOADED-FILE FACTOR SLACK-MS
	python3 - "$(median "$1")" "$(median "$2")" "$3" "$4" <<'PY' || fail "loaded median over the bound"
import sys
l, u, f, s = map(float, sys.argv[1:])
print(f"loaded median {l:.2f} ms, unloaded {u:.2f} ms, bound {f:g} x unloaded + {s:g} ms = {f * u + s:.2f} ms")
sys.exit(0 if l <= f * u + s else 1)
PY
}

api_stat() { "$CTL" -s "$SOCK" -o json show stats | pyj "d['api']['$1']"; }

# stall.py SOCKET N OUT: keep N connections open that each sent half a request, reconnect
# when sluiced closes one; on SIGTERM write OUT: per closed connection, how long sluiced
# held it and what it answered. Writes OUT.ready once N are connected.
cat >"$T/stall.py" <<'PY'
import json, os, selectors, signal, socket, sys, time
path, n, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
HALF = b'{"cmd":"show","wh'
sel = selectors.DefaultSelector()
closed, errors, stop = [], [], False

def on_term(*_):
    global stop
    stop = True
signal.signal(signal.SIGTERM, on_term)

def open_one():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.connect(path)
        s.sendall(HALF)
    except OSError as e:
        errors.append(str(e))
        s.close()
        time.sleep(0.01)
        return False
    s.setblocking(False)
    sel.register(s, selectors.EVENT_READ, [time.monotonic(), b""])
    return True

for _ in range(n):
    while not open_one() and not stop:
        pass
open(out + ".ready", "w").close()
while not stop:
    for key, _ in sel.select(timeout=0.2):
        s, st = key.fileobj, key.data
        try:
            b = s.recv(4096)
        except BlockingIOError:
            continue
        except ConnectionResetError:
            b = b""
        if b:
            st[1] += b
            continue
        closed.append({"held_s": round(time.monotonic() - st[0], 3),
                       "answer": st[1].decode(errors="replace").strip()})
        sel.unregister(s)
        s.close()
        if not stop:
            open_one()
json.dump({"closed": closed, "connect_errors": errors[:5], "n_connect_errors": len(errors)},
          open(out, "w"))
PY

# limit.py SOCKET: 128 silent clients, then one more asking for the version: print its
# answer and wait, and what the silent ones got.
cat >"$T/limit.py" <<'PY'
import json, socket, sys, time
path = sys.argv[1]
def conn():
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.settimeout(10)
    s.connect(path)
    return s
silent = [conn() for _ in range(128)]
time.sleep(0.3)  # sluiced accepts them all first
t = time.monotonic()
x = conn()
x.sendall(b'{"cmd":"version"}\n')
extra = b""
while True:
    b = x.recv(65536)
    if not b:
        break
    extra += b
extra_s = time.monotonic() - t
answers = set()
for s in silent:
    answers.add(s.recv(4096).decode(errors="replace").strip())
print(json.dumps({"extra_ok": json.loads(extra).get("ok"), "extra_s": round(extra_s, 3),
                  "silent": sorted(answers)}))
PY

# ---------------------------------------------------------------------------------------
rm -rf "$SL_RUN/ipam" # a killed earlier run's reservations
topo_up >"$T/topo.log" 2>&1 || { cat "$T/topo.log"; exit 2; }
node_start 1 || exit 2
conf >"$T/conf.json"
for ((r = 1; r <= ROUNDS; r++)); do
	for ((i = 1; i <= N_ADD; i++)); do ip netns add "${P}a${r}_$i"; ip netns add "${P}b${r}_$i"; done
done

stall_ready() { # ROUND
	for _ in $(seq 100); do [ -e "$T/stall$1.json.ready" ] && return 0; sleep 0.1; done
	fail "stall.py did not connect $N_STALL clients in 10 s"
}
stalled_open() {
	local c
	c=$(timeout 20 "$CTL" -s "$SOCK" -o json show stats | pyj "d['api']['clients']") ||
		fail "show stats failed under load"
	# The stalled ones, and this show itself.
	[ "${c:-0}" -ge "$N_STALL" ] || fail "sluiced has ${c:-?} clients open, want >= $N_STALL"
}

# 1, 2. ROUNDS rounds of: unloaded (N_ADD ADDs, N_SHOW show pods), then the same with
# N_STALL stalled clients all along. Interleaving keeps the other tenants' load in both.
for ((r = 1; r <= ROUNDS; r++)); do
	time_adds "${P}a${r}_" "$T/add0.$r.times"
	time_shows "$T/show0.$r.times"
	python3 "$T/stall.py" "$SOCK" "$N_STALL" "$T/stall$r.json" &
	STALL_PID=$!
	BG+=("$STALL_PID")
	check "round $r: $N_STALL stalled clients connected" stall_ready "$r"
	[ "$MEASURE_ONLY" = 1 ] ||
		check "round $r: sluiced holds the $N_STALL stalled clients open at once (show stats)" stalled_open
	time_adds "${P}b${r}_" "$T/add1.$r.times"
	time_shows "$T/show1.$r.times"
	sleep 1.2 # every stalled client of the measurement reaches its deadline
	kill -TERM "$STALL_PID"
	wait "$STALL_PID" 2>/dev/null
done
cat "$T"/add0.*.times >"$T/add0.times"
cat "$T"/add1.*.times >"$T/add1.times"
cat "$T"/show0.*.times >"$T/show0.times"
cat "$T"/show1.*.times >"$T/show1.times"
note "unloaded: CNI ADD $(summary "$T/add0.times")"
note "loaded ($N_STALL stalled clients): CNI ADD $(summary "$T/add1.times")"
note "unloaded: sluicectl show pods $(summary "$T/show0.times")"
note "loaded ($N_STALL stalled clients): sluicectl show pods $(summary "$T/show1.times")"
check "unloaded: every ADD returned 0" all_ok "$T/add0.times" $((ROUNDS * N_ADD))
check "unloaded: every sluicectl show pods returned 0" all_ok "$T/show0.times" $((ROUNDS * N_SHOW))
check "loaded: every ADD returned 0" all_ok "$T/add1.times" $((ROUNDS * N_ADD))
check "loaded: every sluicectl show pods returned 0" all_ok "$T/show1.times" $((ROUNDS * N_SHOW))
pods_ok() {
	local n
	n=$("$CTL" -s "$SOCK" -o json show pods | pyj "len([p for p in d if p['name'].startswith('${P}')])")
	[ "$n" = $((2 * ROUNDS * N_ADD)) ] || fail "sluiced lists $n sll pods, want $((2 * ROUNDS * N_ADD))"
}
check "sluiced lists the $((2 * ROUNDS * N_ADD)) pods added" pods_ok
if [ "$MEASURE_ONLY" != 1 ]; then
	check "loaded: CNI ADD median within 2x the unloaded median" within "$T/add1.times" "$T/add0.times" 2 0
	check "loaded: show pods median within 2x the unloaded median + 20 ms" \
		within "$T/show1.times" "$T/show0.times" 2 20
fi

# 3. The stalled clients were closed after their deadline, with the time-out error: not
# before 1 s, and not later than 1 s + the longest any one request held the loop (a pod
# attach is synchronous: AF_XDP socket, XDP program) or the latest a timer fired + 1 s of
# scheduling slack for stall.py.
# The loop's own lateness (a long request, or the machine not running sluiced) bounds how
# late a deadline can fire.
MAX_REQ_MS=$("$CTL" -s "$SOCK" -o json show stats |
	pyj "max(d['api'].get('max_request_ms', 0), d.get('loop', {}).get('max_timer_late_ms', 0))")
note "longest request: $MAX_REQ_MS ms; loop: $("$CTL" -s "$SOCK" -o json show stats | pyj "d.get('loop')")"
stalled_closed() {
	python3 - "$N_STALL" "$MAX_REQ_MS" "$T"/stall[0-9]*.json <<'PY' || fail "see above"
import json, sys
n, max_req = int(sys.argv[1]), float(sys.argv[2]) / 1000
c, errs = [], []
for f in sys.argv[3:]:
    d = json.load(open(f))
    c += d["closed"]
    errs += d["connect_errors"]
held = sorted(x["held_s"] for x in c)
bound = 1.0 + max_req + 1.0
print(f"{len(c)} stalled connections closed by sluiced, held {held[0] if held else 0:.2f}-"
      f"{held[-1] if held else 0:.2f} s (bound {bound:.2f} s); connect errors {len(errs)}")
bad = [x for x in c if x["answer"] != '{"ok":false,"error":"request: incomplete (timed out)"}']
assert not bad, f"unexpected answers: {bad[:3]}"
assert len(c) >= n * (len(sys.argv) - 3), f"only {len(c)} closed, want >= {n} per round"
assert held[0] >= 0.9, f"a stalled client was closed after {held[0]} s, before its 1 s deadline"
assert held[-1] <= bound, f"a stalled client was held {held[-1]} s"
assert not errs, f"connect errors: {errs[:3]}"
PY
}
check "stalled clients closed after their 1 s deadline with 'request: incomplete (timed out)'" stalled_closed
[ "$MEASURE_ONLY" = 1 ] && { check_summary; exit $?; }
timeouts_counted() {
	local t
	t=$(api_stat timeouts)
	[ "${t:-0}" -ge "$N_STALL" ] || fail "api.timeouts is $t, want >= $N_STALL"
}
check "show stats counts the time-outs (api.timeouts >= $N_STALL)" timeouts_counted

# 4. The client limit: the 129th waits in the backlog until the silent ones time out
# (0.7 s left of their 1 s), then is served.
client_limit() {
	local r
	r=$(timeout 30 python3 "$T/limit.py" "$SOCK") || fail "limit.py failed: $r"
	python3 - "$r" "$MAX_REQ_MS" <<'PY' || fail "$r"
import json, sys
r = json.loads(sys.argv[1])
assert r["extra_ok"] is True, "the 129th client was not served"
assert 0.5 <= r["extra_s"] <= 1.7 + float(sys.argv[2]) / 1000, f"the 129th client waited {r['extra_s']} s"
assert r["silent"] == ['{"ok":false,"error":"request: incomplete (timed out)"}'], r["silent"]
PY
	[ "$(api_stat full)" -ge 1 ] || fail "api.full not counted"
}
check "limit: with 128 silent clients open the 129th waits in the backlog, served once they time out" client_limit

# 5. The one list of tables
all_tables() {
	local t
	for t in $("$CTL" -h | awk '/show TABLE/ {getline; print $1}' | tr '|' ' '); do
		"$CTL" -s "$SOCK" -o json show "$t" >/dev/null || fail "show $t failed"
	done
	[ -n "${t:-}" ] || fail "no tables in sluicectl -h"
	"$CTL" -s "$SOCK" show bogus 2>&1 | grep -qF "$("$CTL" -h | awk '/show TABLE/ {getline; print $1}' | sed 's/|/, /g')" ||
		fail "the error for an unknown table does not list the tables of sluicectl -h"
}
check "every table in sluicectl -h can be shown; the error for others lists the same tables" all_tables
check "sluiced still running" kill -0 "${SL_PID[1]}"

check_summary
