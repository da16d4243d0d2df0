#!/usr/bin/env bash
# tests/run.sh - runs every hedge test and ends with "N passed, N failed".
#
# Unit tests (under ASan+UBSan), integration tests that boot real unikernels
# with both the optimised and the sanitized monitor, and bounded fuzzing runs.
# Exits non-zero if anything failed.
set -u
cd "$(dirname "$0")/.."
. tests/lib.sh

# Unit-test binaries print their own "N passed, N failed"; fold those in.
run_unit() {
	local bin=$1 log=$T_TMP/unit.log
	echo "== $bin"
	"$bin" >"$log" 2>&1
	local status=$?
	cat "$log"
	local line
	line=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log" | tail -n 1)
	if [ -z "$line" ]; then
		echo "FAIL $bin crashed or printed no summary (status $status)"
		T_FAILED=$((T_FAILED + 1))
		return
	fi
	local p f
	p=${line%% passed*}
	f=${line#*, }
	f=${f%% failed}
	T_PASSED=$((T_PASSED + p))
	T_FAILED=$((T_FAILED + f))
	if [ "$status" != 0 ] && [ "$f" = 0 ]; then
		echo "FAIL $bin exited with status $status"
		T_FAILED=$((T_FAILED + 1))
	fi
}

for bin in build/test_*; do
	[ -x "$bin" ] && run_unit "$bin"
done

for suite in tests/integration/*.sh; do
	echo "== $suite"
	. "$suite"
done

echo "== fuzzing (bounded)"
. tests/fuzz.sh

t_cleanup
if [ "$T_SKIPPED" -gt 0 ]; then
	echo "$T_PASSED passed, $T_FAILED failed, $T_SKIPPED skipped"
else
	echo "$T_PASSED passed, $T_FAILED failed"
fi
[ "$T_FAILED" = 0 ]
