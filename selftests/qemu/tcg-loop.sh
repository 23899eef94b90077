#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Repeat one test RUNS times in guests with truly parallel vCPUs: qemu's
# multi-threaded TCG (a host thread per vCPU), 2 vCPUs. The default runner
# runs all vCPUs on one host thread (run-vm.sh says why); this is the mode
# that shows what real parallelism does.
#
#   tcg-loop.sh stress KVER [HOOKS] [RUNS]   memwatch_stress, rmmod under load
#   tcg-loop.sh storm KVER [RUNS] [MECH]     the same ftrace patching under a
#                                            fault load, memwatch not loaded,
#                                            by the function tracer (MECH
#                                            function, the default) or a
#                                            kprobe event (kprobe)
#
# RUNS defaults to 20. MEMWATCH_QEMU_ROOT (run-vm.sh) picks another qemu.
# Prints one line per run (ok, or the reason it
# failed: the kernel's own line when it panicked) and a summary
# "N passed, N failed". Logs: build/KVER/tcg-loop/TEST-N.{console,results}.

set -e

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$repo"

test=$1
kver=$2
case "$test" in
stress) hooks=$3; runs=${4:-20} ;;
storm) hooks=; runs=${3:-20}; mech=${4:-function} ;;
*) echo "usage: tcg-loop.sh stress KVER [HOOKS] [RUNS] | storm KVER [RUNS] [function|kprobe]" >&2; exit 2 ;;
esac
[ -n "$kver" ] || { echo "tcg-loop: no kernel given" >&2; exit 2; }

out=build/$kver/tcg-loop
mkdir -p "$out"
passed=0
failed=0
for i in $(seq "$runs"); do
	name=$test${hooks:+-$hooks}${mech:+-$mech}-$i
	set +e
	MEMWATCH_TCG_THREAD=multi MEMWATCH_SMP=2 MEMWATCH_BOOT_TRIES=1 \
		selftests/qemu/run-vm.sh -t 900 ${hooks:+-e MEMWATCH_HOOKS=$hooks} \
		${mech:+-e MEMWATCH_STORM_MECH=$mech} \
		-c "$out/$name.console" -r "$out/$name.results" \
		"$kver" "selftests/qemu/$test-guest.sh" 2>"$out/$name.run-vm"
	rc=$?
	set -e
	why=
	if [ "$rc" != 0 ]; then
		why=$(tr -d '\r' <"$out/$name.console" |
			grep -m 1 -oE 'Oops: .*|BUG: .*|Kernel panic - not syncing: .*|INFO: task .* blocked.*|rcu: INFO: .*' || true)
		why=${why:-"exit $rc"}
	elif grep -q '^not ok' "$out/$name.results"; then
		why=$(grep -m 1 '^not ok' "$out/$name.results")
	fi
	if [ -z "$why" ]; then
		passed=$((passed + 1))
		echo "ok $i - $test $kver${hooks:+ hooks=$hooks}${mech:+ $mech}"
	else
		failed=$((failed + 1))
		echo "not ok $i - $test $kver${hooks:+ hooks=$hooks}${mech:+ $mech}: $why"
		# where: the oops's RIP line, if any
		tr -d '\r' <"$out/$name.console" | grep -m 1 -E 'RIP: 0010' | sed 's/^/# /' || true
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
