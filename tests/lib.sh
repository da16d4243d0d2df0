# tests/lib.sh - helpers shared by the shell test suites.
#
# A suite calls `check NAME CONDITION...` style helpers; each records one
# passed or failed case.  Output of the command under test is kept in
# $T_OUT / $T_ERR for the assertions that follow `t_run`.

T_PASSED=${T_PASSED:-0}
T_FAILED=${T_FAILED:-0}
T_SKIPPED=${T_SKIPPED:-0}
T_TMP=$(mktemp -d /tmp/hedge-test.XXXXXX)
T_OUT=$T_TMP/out
T_ERR=$T_TMP/err
T_STATUS=0
t_case_failed=0
t_case_name=""

# t_begin NAME: starts a case.
t_begin() {
	t_case_name=$1
	t_case_failed=0
}

t_fail() {
	echo "    $*"
	t_case_failed=1
}

# t_end: records the case started by t_begin.
t_end() {
	if [ "$t_case_failed" = 0 ]; then
		echo "ok   $t_case_name"
		T_PASSED=$((T_PASSED + 1))
	else
		echo "FAIL $t_case_name"
		echo "    --- stdout:"; head -c 2000 "$T_OUT" | sed 's/^/    | /'
		echo "    --- stderr:"; head -c 2000 "$T_ERR" | sed 's/^/    | /'
		T_FAILED=$((T_FAILED + 1))
	fi
}

t_skip() {
	echo "SKIP: no /dev/kvm: $1"
	T_SKIPPED=$((T_SKIPPED + 1))
}

# t_run CMD...: runs a command with a time limit, capturing output and status.
t_run() {
	timeout -k 5 60 "$@" >"$T_OUT" 2>"$T_ERR" </dev/null
	T_STATUS=$?
}

expect_status() {
	[ "$T_STATUS" = "$1" ] || t_fail "exit status $T_STATUS, expected $1"
}

expect_stdout() {
	grep -qF -- "$1" "$T_OUT" || t_fail "stdout lacks: $1"
}

expect_no_stdout() {
	! grep -qF -- "$1" "$T_OUT" || t_fail "stdout has: $1"
}

expect_stderr() {
	grep -qF -- "$1" "$T_ERR" || t_fail "stderr lacks: $1"
}

# The monitor's own complaints are exactly one line on stderr.
expect_one_line_error() {
	local lines
	lines=$(grep -c '' "$T_ERR")
	[ "$lines" = 1 ] || t_fail "stderr has $lines lines, expected one"
	grep -q '^hedge' "$T_ERR" || t_fail "stderr does not start with 'hedge'"
}

expect_empty_stdout() {
	[ ! -s "$T_OUT" ] || t_fail "stdout is not empty"
}

t_cleanup() {
	rm -rf "$T_TMP"
}
