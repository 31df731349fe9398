#!/bin/bash
# Benchmark: N Services (one EndpointSlice of E endpoints each) loaded into a running sluiced
# from scratch through its API, `sluicectl apply -f` of kubectl-style Lists, end to end:
# sluicectl reads and checks each file, sends it, sluiced parses the request, decodes,
# applies it to the model, programs the Service table (Maglev tables), saves its state, and
# replies. The Lists are what build/perf/sluice-lb-bench --write-json writes (the input its
# in-process figures are measured on), 1,000 Services + 1,000 slices each (~2.7 MB: a
# request is at most 4 MiB, so a load of 100,000 Services is 100 applies).
#
# Runs sluiced once per state mode: "none" (--state none: nothing saved) and "default"
# (the state file, saved after every change as sluiced does by default: a journal line per
# apply, the snapshot rewritten when the journal would outgrow it). For each, prints the
# wall time of the whole load, sluiced's CPU time over it (user + system, from
# /proc/PID/stat; and its control thread's, which does all of the work: the rest is the idle
# worker polling), the slowest apply, the saves (journal appends, snapshots), and checks at
# the end that sluiced holds N Services, N slices and N frontends (`show stats`).
#
# One sluiced (node 1 of scripts/lib/topo.sh); run it under the shared heavy lock.
# Usage (root, repo root): perf/svc_load_bench.sh [--services N] [--endpoints E]
#        [--states none,default]
# With SL_BENCH_PERF=FILE, sluiced is profiled over each load (perf record into FILE.STATE).
set -u
cd "$(dirname "$0")/.."
N=100000 E=10 STATES=none,default
while [ $# -ge 2 ]; do
	case $1 in
	--services) N=$2 ;;
	--endpoints) E=$2 ;;
	--states) STATES=$2 ;;
	*) echo "usage: $0 [--services N] [--endpoints E] [--states none,default]" >&2; exit 2 ;;
	esac
	shift 2
done
export SL_PREFIX=${SL_PREFIX:-slsl-} SL_RUN=${SL_RUN:-/tmp/slsl-run}
export SL_BUILD=${SL_BUILD:-build}
# The Service table (~1.4 KB a Service) and the default conntrack table (~270 MB).
export SL_EAL_MEM=${SL_EAL_MEM:---no-huge -m 1536}
source scripts/lib/topo.sh
trap 'topo_down; rm -rf "$SL_RUN"' EXIT
topo_up
mkdir -p "$SL_RUN/lists"
"$SL_BUILD/perf/sluice-lb-bench" --no-huge -m 64 --no-pci --file-prefix "${SL_PREFIX}gen" -l 0 \
	--log-level=lib.eal:error -- --services "$N" --endpoints "$E" \
	--write-json "$SL_RUN/lists" 2>/dev/null || { echo "cannot write the Lists" >&2; exit 1; }
files=("$SL_RUN"/lists/list-*.json)
echo "svc_load_bench: $N Services x $E endpoints in ${#files[@]} Lists," \
	"$(du -sm "$SL_RUN/lists" | cut -f1) MB of JSON; $(nproc) CPUs, EAL $SL_EAL_MEM"

# start_sluiced STATE [keep]: node 1's sluiced as node_start runs it, with --state; the
# state file of an earlier run is removed unless "keep".
start_sluiced() {
	local st=$1 st_args=()
	[ "$st" = none ] && st_args=(--state none)
	[ "${2:-}" = keep ] || rm -f "$SL_RUN"/node1.sock.state.json{,.journal,.journal.next}
	node_config 1 >"$SL_RUN/node1.json"
	ip netns exec "$(ns n1)" "$SL_BUILD/control/sluiced" -c "$SL_RUN/node1.json" \
		-s "$SL_RUN/node1.sock" "${st_args[@]}" -- -l 0,1 --main-lcore 0 --no-pci \
		--file-prefix "${SL_PREFIX}n1" --log-level=lib.eal:error $SL_EAL_MEM \
		>"$SL_RUN/node1.log" 2>&1 &
	SL_PID[1]=$!
	for _ in $(seq 600); do
		[ -S "$SL_RUN/node1.sock" ] && ctl 1 version >/dev/null 2>&1 && return 0
		kill -0 "${SL_PID[1]}" 2>/dev/null || break
		sleep 0.1
	done
	cat "$SL_RUN/node1.log" >&2
	return 1
}

# cpu_s PID [TID]: user + system CPU seconds of the process (all its threads), or of its
# thread TID (the control thread is the process's first: TID = PID).
cpu_s() {
	awk -v hz="$(getconf CLK_TCK)" '{ print ($14 + $15) / hz }' \
		"/proc/$1${2:+/task/$2}/stat"
}

failed=0
for st in ${STATES//,/ }; do
	start_sluiced "$st" || { echo "sluiced did not start" >&2; exit 1; }
	pid=$(pgrep -P "${SL_PID[1]}" sluiced || echo "${SL_PID[1]}")
	if [ -n "${SL_BENCH_PERF:-}" ]; then # a profile of sluiced over the load (perf report -i)
		perf record -q -F 2000 -p "$pid" -o "$SL_BENCH_PERF.$st" 2>/dev/null &
		perf_pid=$!
	fi
	c0=$(cpu_s "$pid") m0=$(cpu_s "$pid" "$pid")
	t0=${EPOCHREALTIME/./} # (µs, bash's clock: no process per reading)
	worst=0 worst_f=
	for f in "${files[@]}"; do
		a=${EPOCHREALTIME/./}
		if ! ctl 1 apply -f "$f" >/dev/null 2>"$SL_RUN/err"; then
			echo "apply $f failed: $(cat "$SL_RUN/err")" >&2
			failed=1
			break
		fi
		d=$((${EPOCHREALTIME/./} - a))
		if ((d > worst)); then worst=$d worst_f=${f##*/}; fi
	done
	t1=${EPOCHREALTIME/./}
	c1=$(cpu_s "$pid") m1=$(cpu_s "$pid" "$pid")
	[ -n "${SL_BENCH_PERF:-}" ] && kill -INT "$perf_pid" && wait "$perf_pid"
	stats=$(ctl 1 -o json show stats)
	ok=$(python3 -c "import json,sys; d=json.loads(sys.argv[1]); n=int(sys.argv[2]);
print(int(d['model']['services']==n and d['model']['endpointslices']==n and d['conntrack']['frontends']==n))" "$stats" "$N")
	saves=$(python3 -c "import json,sys; a=json.loads(sys.argv[1])['api'];
print('%d saves: %d journal appends, %d snapshots (%d of them by a forked child, %d failed)' % (a['saves'], a.get('state_appends', 0), a.get('state_snapshots', 0), a.get('state_forks', 0), a.get('state_fork_failures', 0)))" "$stats")
	size=$(stat -c %s "$SL_RUN/node1.sock.state.json" 2>/dev/null || echo 0)
	jsize=$(stat -c %s "$SL_RUN/node1.sock.state.json.journal" 2>/dev/null || echo 0)
	printf "state %-8s %d Services loaded through the API in %.2f s wall, sluiced CPU %.2f s (control thread %.2f s); slowest apply %.2f s (%s); %s; state file %d MB + journal %d MB; check: %s\n" \
		"$st" "$N" "$(echo "($t1 - $t0) / 1000000" | bc -l)" "$(echo "$c1 - $c0" | bc)" \
		"$(echo "$m1 - $m0" | bc)" "$(echo "$worst / 1000000" | bc -l)" "$worst_f" \
		"$saves" $((size / 1000000)) $((jsize / 1000000)) "$([ "$ok" = 1 ] && echo OK || echo FAILED)"
	[ "$ok" = 1 ] || failed=1
	SL_STOP_SECONDS=60 node_stop 1 || failed=1
	if [ "$st" = default ] && [ "$ok" = 1 ]; then
		# A restart with all of it in the state file: sluiced reads it, applies it as one
		# batch, and its API answers (EAL start-up included).
		t0=$(date +%s.%N)
		start_sluiced default keep || { echo "sluiced did not restart" >&2; exit 1; }
		t1=$(date +%s.%N)
		n=$(ctl 1 -o json show stats | python3 -c "import json,sys; d=json.load(sys.stdin); print(d['model']['services'], d.get('conntrack', {}).get('frontends', 0))")
		printf "restart from the state file: API up with %s Services / frontends after %.2f s\n" \
			"$n" "$(echo "$t1 - $t0" | bc)"
		grep -i "state" "$SL_RUN/node1.log" | head -3
		[ "$n" = "$N $N" ] || failed=1
		SL_STOP_SECONDS=60 node_stop 1 || failed=1
	fi
done
exit $failed
