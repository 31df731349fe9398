# TAP-like checks for the integration scripts (sourced).
# check NAME CMD...: run CMD with its stdout hidden (stderr stays visible, so a check can
# print "# ..." details there and a failing command shows why), print ok/not ok, count.
# check_summary: print "N passed, M failed" and return non-zero when anything failed.
passed=0 failed=0
check() {
	local name=$1; shift
	if "$@" >/dev/null; then echo "ok - $name"; passed=$((passed + 1))
	else echo "not ok - $name"; failed=$((failed + 1)); fi
}
check_summary() {
	echo "$passed passed, $failed failed"
	[ "$failed" = 0 ]
}
