# Bulk TCP between pods and the node counters that show how frames crossed sluiced; for
# the large-frame tests (large_frames.sh, tap_pods.sh, tap_uplink.sh). Needs topo.sh (in_ns,
# ctl, wait_listen) and check.sh (fail, note) sourced first, and from the caller: T (a
# scratch directory), DATA (the file sent), WANT (its sha256), MB (its size in MiB).

# xfer SRC DST DST_IP PORT: DATA over TCP from pod SRC to pod DST; DST's sha256 must be WANT.
xfer() {
	local src=$1 dst=$2 ip=$3 port=$4 got lpid t0 t1
	in_ns "$dst" sh -c "timeout 60 nc -l $ip $port </dev/null | sha256sum >$T/got.$port" &
	lpid=$!
	wait_listen "$dst" "$port" || return 1
	t0=$(date +%s%N)
	in_ns "$src" timeout 60 nc -N -w 10 "$ip" "$port" <"$DATA" || fail "sender $src exited with $?"
	wait "$lpid"
	t1=$(date +%s%N)
	got=$(cut -d' ' -f1 <"$T/got.$port")
	[ "$got" = "$WANT" ] || { echo "$src -> $dst: sha256 $got, sent $WANT"; return 1; }
	note "$src -> $dst: $MB MB in $(awk -v ns=$((t1 - t0)) -v mb="$MB" 'BEGIN { printf "%.2f s (%.0f Mbit/s)", ns / 1e9, mb * 8.388608 / (ns / 1e9) }')"
}

# idle_wait N HOW: every worker of node N sleeps HOW when idle ("taps": in its tap epoll
# set, woken by a frame; "sleep"), as show workers says.
idle_wait() {
	local got
	got=$(ctl "$1" -o json show workers | python3 -c 'import json, sys
print(" ".join(w["idle_wait"] for w in json.load(sys.stdin)))') || return 1
	echo "node$1 workers' idle_wait: $got"
	[ -n "$got" ] && [ -z "$(echo "$got" | tr ' ' '\n' | grep -vx "$2")" ]
}

# port_field N PORT FIELD: a field of node N's port PORT (show ports).
port_field() {
	ctl "$1" -o json show ports | python3 -c 'import json, sys
p = [p for p in json.load(sys.stdin) if p["name"] == sys.argv[1]][0]
print(p[sys.argv[2]])' "$2" "$3"
}

# port_avg N PORT rx|tx: average bytes per frame node N received from / sent to PORT.
port_avg() { echo $(( $(port_field "$1" "$2" "$3_bytes") / ($(port_field "$1" "$2" "$3_packets") + 1) )); }

# graph_packets N NODE: packets graph node NODE of sluiced N has handled.
graph_packets() {
	ctl "$1" -o json show graph | python3 -c 'import json, sys
print(int(sum(n["packets"] for n in json.load(sys.stdin) if n["node"] == sys.argv[1])))' "$2"
}

# drop_count N REASON: node N's drops for REASON.
drop_count() {
	ctl "$1" -o json show stats | python3 -c 'import json, sys
print({x["reason"]: x["packets"] for x in json.load(sys.stdin).get("drops", [])}.get(sys.argv[1], 0))' "$2"
}

# drops N PREFIX...: node N has no drop whose reason starts with a PREFIX, nor no-mbuf or
# frame-too-big; tx-full (a pod's TX ring full when its kernel side falls behind: a
# congestion drop TCP recovers from, docs/known-issues.md) under 1 % of the packets sent.
# Zero tx-full was the wrong bound: a clean-clone CI run under load saw 42 of ~150,000.
drops() {
	local n=$1 tx
	shift
	tx=$(ctl "$n" -o json show ports | python3 -c 'import json, sys
print(sum(p["tx_packets"] for p in json.load(sys.stdin)))')
	ctl "$n" -o json show stats | TX=$tx python3 -c 'import json, os, sys
d = {x["reason"]: x["packets"] for x in json.load(sys.stdin).get("drops", [])}
bad = {k: v for k, v in d.items() if v and (k.startswith(tuple(sys.argv[1:])) or k in ("no-mbuf", "frame-too-big"))}
full, tx = d.get("tx-full", 0), int(os.environ["TX"])
print(bad or "none", "tx-full", full, "of", tx, "sent")
sys.exit(1 if bad or full * 100 > tx else 0)' "$@"
}

# gt VALUE BOUND LABEL / le VALUE BOUND LABEL: VALUE above / at most BOUND, said.
gt() { echo "$3: $1 (must be above $2)"; [ "$1" -gt "$2" ]; }
le() { echo "$3: $1 (must be at most $2)"; [ "$1" -le "$2" ]; }
