#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run every memwatch selftest: the kselftest programs built here, then each
# executable ctl_*.py beside this script. TAP goes to stdout, each program's
# between "# ==== selftests/NAME" banners. The programs' logs ("# ..." lines
# on stderr) are merged in, so that a failure's explanation sits above its
# "not ok" line: kselftest keeps stdout line-buffered, so lines stay whole.
# A program that fails without saying which test failed (a crash, a timeout,
# not built) gets a "not ok" line of its own, so no failure is lost when the
# TAP lines are counted.
#
# MEMWATCH_PROG_TIMEOUT overrides the per-program timeout of ./settings
# (slow debug kernels).
#
# Exits 0 when nothing failed (skips are not failures), 1 otherwise.
# The module must be loaded first; without it every test skips.

set -e
set -o pipefail

dir=$(cd "$(dirname "$0")" && pwd)
bindir=${MEMWATCH_SELFTESTS_BIN:-$dir}
ksft_skip=4
progs="memwatch_nl memwatch_track memwatch_harden memwatch_fuzz memwatch_stress"

timeout=$(sed -n 's/^timeout=//p' "$dir/settings" 2>/dev/null || true)
timeout=${MEMWATCH_PROG_TIMEOUT:-${timeout:-300}}

out=$(mktemp)
cleanup() {
	rm -f "$out"
}
trap cleanup EXIT

failed=0
passed=0

# run NAME COMMAND...: one test program, its TAP checked afterwards
run() {
	local name=$1 rc=0 nok
	shift

	echo "# ==== selftests/$name ===="
	echo "# + $*"
	PYTHONUNBUFFERED=1 timeout --foreground -k 10 "$timeout" "$@" \
		</dev/null 2>&1 | tee "$out" || rc=$?
	nok=$(grep -c '^not ok' "$out" || true)
	if [ "$rc" -eq 124 ] || [ "$rc" -eq 137 ]; then
		echo "not ok - selftests/$name # timed out after ${timeout}s"
		nok=$((nok + 1))
	elif [ "$rc" -ne 0 ] && [ "$rc" -ne "$ksft_skip" ] && [ "$nok" -eq 0 ]; then
		echo "not ok - selftests/$name # exited with status $rc"
		nok=1
	fi
	echo "# ==== selftests/$name: exit $rc ===="
	if [ "$nok" -gt 0 ]; then
		failed=$((failed + 1))
	else
		passed=$((passed + 1))
	fi
}

for p in $progs; do
	if [ ! -x "$bindir/$p" ]; then
		echo "# ==== selftests/$p ===="
		echo "not ok - selftests/$p # not built: run make -C selftests"
		failed=$((failed + 1))
		continue
	fi
	run "$p" "$bindir/$p"
done

for script in "$dir"/ctl_*.py; do
	[ -x "$script" ] || continue
	name=$(basename "$script")
	run "$name" "$script"
done

echo "# selftests: $passed programs passed, $failed failed"
[ "$failed" -eq 0 ]
