# TAP-like checks for the test scripts (sourced).
#   check NAME CMD...  run CMD in this shell (it may change state) with its output captured;
#                      print "ok - NAME" or "not ok - NAME (CMD's last output lines)"; count.
#                      With CHECK_SUBSHELL=1, CMD runs in a subshell and fail() ends it.
#   fail MSG           inside a check: say why and fail it (even if the check goes on)
#   note MSG           a "# MSG" line on the real stdout, also from inside a check
#   check_summary      print "N passed, M failed"; non-zero when anything failed
PASS=0 FAIL=0 CHECK_FAILED=0
exec 3>&1
# Captured output goes to an unlinked file (nothing to clean up), reopened and truncated
# through /proc for each check.
_check_tmp=$(mktemp /tmp/sl-check.XXXXXX)
exec 4<>"$_check_tmp"
rm -f "$_check_tmp"
CHECK_OUT=/proc/$$/fd/4

check() {
	local name=$1 rc d
	shift
	CHECK_FAILED=0
	if [ -n "${CHECK_SUBSHELL:-}" ]; then
		("$@") >"$CHECK_OUT" 2>&1
	else
		"$@" >"$CHECK_OUT" 2>&1
	fi
	rc=$?
	[ "$rc" -eq 0 ] && [ "$CHECK_FAILED" = 1 ] && rc=1
	if [ "$rc" -eq 0 ]; then
		PASS=$((PASS + 1))
		echo "ok - $name"
	else
		FAIL=$((FAIL + 1))
		d=$(grep -v '^[[:space:]]*$' "$CHECK_OUT" | tail -n 4 | tr '\n\t' '  ' | sed 's/  */ /g; s/ $//')
		[ ${#d} -gt 400 ] && d="${d:0:400}..."
		echo "not ok - $name (${d:-exit status $rc})"
	fi
	return "$rc"
}

fail() {
	echo "$*"
	CHECK_FAILED=1
	[ -z "${CHECK_SUBSHELL:-}" ] || exit 1
	return 1
}

note() { echo "# $*" >&3; }

check_summary() {
	echo "$PASS passed, $FAIL failed"
	[ "$FAIL" -eq 0 ]
}
