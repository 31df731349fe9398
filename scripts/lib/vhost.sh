# vhost-user pod state as sluicectl shows it (sourced by tests; needs topo.sh's ctl).
#   vh_show NODE POD        print "state|last_disconnect|disconnect_cause" of POD
#   vh_wait NODE POD WANT TIMEOUT_S [SINCE]
#                           poll show pods every 50 ms until POD's state is WANT (and, with
#                           SINCE - seconds since the epoch - its last disconnect is not
#                           older than SINCE); print what it saw. Fails at once on a
#                           "failed: ..." state unless WANT is one or VH_FAILED_OK=1 (an
#                           earlier failure shows until a device is ready), and on timeout.

vh_show() {
	ctl "$1" -o json show pods | python3 -c "
import json, sys
p = [p for p in json.load(sys.stdin) if p['name'] == '$2'][0]
print('%s|%s|%s' % (p['state'], p.get('last_disconnect'), p.get('disconnect_cause')))"
}

vh_wait() {
	python3 - "$SL_BUILD/control/cli/sluicectl" "$SL_RUN/node$1.sock" "$2" "$3" "$4" "${5:-0}" \
		"${VH_FAILED_OK:-0}" <<'PY'
import datetime, json, subprocess, sys, time
ctl, sock, pod, want, timeout, since = sys.argv[1:4] + [sys.argv[4], float(sys.argv[5]), float(sys.argv[6])]
failed_ok = sys.argv[7] == "1" or want.startswith("failed")
seen, end = [], time.time() + timeout
while True:
    out = subprocess.run([ctl, "-s", sock, "-o", "json", "show", "pods"], capture_output=True, text=True)
    p = [p for p in json.loads(out.stdout) if p["name"] == pod][0] if out.returncode == 0 else None
    state = p["state"] if p else "(sluicectl failed: %s)" % out.stderr.strip()
    if not seen or seen[-1] != state:
        seen.append(state)
    at = p and p.get("last_disconnect")
    t = datetime.datetime.strptime(at, "%Y-%m-%dT%H:%M:%S.%fZ").replace(
        tzinfo=datetime.timezone.utc).timestamp() if at else 0
    summary = "%s | %s | %s | states seen: %s" % (state, at, p and p.get("disconnect_cause"), " -> ".join(seen))
    if state.startswith("failed") and not failed_ok:
        sys.exit("failed state: " + summary)
    if state == want and t >= since - 0.001:  # (shown to the millisecond)
        print(summary)
        sys.exit(0)
    if time.time() > end:
        sys.exit("timeout (%.1f s): %s%s" % (timeout, summary,
                 "" if t >= since - 0.001 else "; last disconnect older than %.3f" % since))
    time.sleep(0.05)
PY
}
