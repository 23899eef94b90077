#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make check` run inside one guest: load the module, run the selftests,
# unload it, and check the kernel log and taint. Everything it reports is a
# TAP line on stdout; check.sh on the host counts the lines that start with
# "ok " or "not ok " (not nested "# ok" lines).
#
# Environment (from run-vm.sh): MEMWATCH_KO, MEMWATCH_CTL, MEMWATCH_KVER,
# MEMWATCH_REPO (the current directory); optional: MEMWATCH_RUN_TESTS (the
# test runner, default selftests/run_tests.sh), MEMWATCH_TESTS_TIMEOUT
# (seconds, default 900: the whole suite takes 5 to 8 minutes, more when
# the host is busy), MEMWATCH_HOOKS (the module's hooks parameter:
# auto, direct or kprobe; default: the module's own default). The tests
# that load the module again find its parameters in MEMWATCH_KO_PARAMS.

set -e

tap_out=/tmp/memwatch-tap.out
n=0

cleanup() {
	rm -f "$tap_out"
}
trap cleanup EXIT

ok() {
	n=$((n + 1))
	echo "ok $n $*"
}

not_ok() {
	n=$((n + 1))
	echo "not ok $n $*"
}

run() {
	echo "# memwatch-guest: + $*"
	"$@"
}

# Only messages after this mark are checked: the boot log is not ours.
mark="memwatch-check: start $$"
echo "$mark" >/dev/kmsg

MEMWATCH_KO_PARAMS=${MEMWATCH_HOOKS:+hooks=$MEMWATCH_HOOKS}
export MEMWATCH_KO_PARAMS

module=
if [ ! -e "$MEMWATCH_KO" ]; then
	ok "insmod memwatch # SKIP $MEMWATCH_KO was not built"
# shellcheck disable=SC2086 # no parameter, or one word
elif run insmod "$MEMWATCH_KO" $MEMWATCH_KO_PARAMS; then
	module=1
	ok "insmod memwatch${MEMWATCH_HOOKS:+ hooks=$MEMWATCH_HOOKS}"
else
	not_ok "insmod memwatch"
fi

tests=${MEMWATCH_RUN_TESTS:-selftests/run_tests.sh}
if [ -x "$tests" ]; then
	# run_tests.sh prints TAP on stdout; count its result lines so ours
	# continue the numbering.
	set +e
	run timeout "${MEMWATCH_TESTS_TIMEOUT:-900}" "$tests" |
		tee "$tap_out"
	rc=${PIPESTATUS[0]}
	set -e
	n=$((n + $(grep -cE '^(not )?ok ' "$tap_out" || true)))
	if [ "$rc" = 124 ]; then
		not_ok "$tests timed out after ${MEMWATCH_TESTS_TIMEOUT:-900}s"
	elif [ "$rc" != 0 ] && ! grep -qE '^not ok ' "$tap_out"; then
		not_ok "$tests exited with status $rc"
	fi
else
	not_ok "selftests # $tests is missing"
fi

# The selftests may unload and reload the module, but must leave it loaded.
if [ -z "$module" ]; then
	ok "rmmod memwatch # SKIP module not loaded"
elif [ ! -d /sys/module/memwatch ]; then
	not_ok "rmmod memwatch # the module was not loaded after the selftests"
elif run timeout 60 rmmod memwatch; then
	ok "rmmod memwatch"
else
	not_ok "rmmod memwatch"
fi

bad_re='BUG:|WARNING:|Oops|KASAN|UBSAN|kmemleak|general protection|Call Trace'
log=$(dmesg | sed -n "/$mark/,\$p")
bad=$(echo "$log" | grep -E "$bad_re" || true)

# Taint bits 12 (O, out-of-tree module) and 13 (E, unsigned module) are
# expected from loading memwatch; any other bit is a failure.
taint=$(cat /proc/sys/kernel/tainted)
other=$((taint & ~((1 << 12) | (1 << 13))))

if [ -z "$bad" ] && [ "$other" = 0 ]; then
	ok "dmesg clean"
else
	if [ -n "$bad" ]; then
		echo "# memwatch-guest: kernel log since the module was loaded:"
		echo "$log" | head -n 300 | sed 's/^/# memwatch-guest: dmesg: /'
	fi
	if [ "$other" != 0 ]; then
		echo "# memwatch-guest: kernel taint $taint (bits other than O and E: $other)"
	fi
	not_ok "dmesg clean"
fi
