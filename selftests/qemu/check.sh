#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest-check.sh (insmod, selftests/run_tests.sh, rmmod, dmesg check) on
# each kernel given, print every TAP result line prefixed by the kernel, and
# end with one line "N passed, N failed" over all kernels.
#
#   check.sh [KVER...]     (default: both kernels of scripts/setup.sh)
#
# Counted: lines of the guest script's stdout that start with "ok " (passed,
# "# SKIP" included) or "not ok " (failed), and "Bail out!" (failed); nested
# "# ok" lines are not. A guest that hangs (killed after $MEMWATCH_TIMEOUT
# seconds, default 600) or ends without an exit status counts as one more
# failure. The output of a failed test (the lines since the previous result)
# is printed above it; MEMWATCH_VERBOSE=1 prints every line.
#
# MEMWATCH_RUN_TESTS (a script in the repository, instead of
# selftests/run_tests.sh) and MEMWATCH_TESTS_TIMEOUT are passed to the guest.
#
# MEMWATCH_HOST_TESTS: scripts of the repository, blank-separated, run on
# the host after the kernels (make check: selftests/qemu/deb-check.sh, the
# package test, which boots a guest of its own). Their "ok " and "not ok "
# lines count with the rest, printed as [SCRIPT NAME]; one that exits
# non-zero without a "not ok " line counts as one failure. Log:
# build/NAME.log.
#
# Logs: build/KVER/vm/console.log (ttyS0, every kernel message) and
# build/KVER/vm/results.log (the guest script's stdout).
#
# Exit status: 0 if nothing failed, 1 otherwise.

set -e

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$repo"

vm_pid=
cleanup() {
	[ -n "$vm_pid" ] && kill "$vm_pid" 2>/dev/null
	true
}
trap cleanup EXIT

if [ $# = 0 ]; then
	env_file=${MEMWATCH_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/memwatch}/env
	if [ ! -r "$env_file" ]; then
		echo "check: $env_file is missing: run scripts/setup.sh (make setup)" >&2
		exit 4
	fi
	# shellcheck source=/dev/null
	. "$env_file"
	set -- "$KVER_61" "$KVER_612"
fi

passed=0
failed=0
skipped=0
failed_logs=()

for kver in "$@"; do
	out=build/$kver/vm
	mkdir -p "$out"
	: >"$out/results.log"
	: >"$out/console.log"
	extra=()
	for v in MEMWATCH_TESTS_TIMEOUT MEMWATCH_RUN_TESTS MEMWATCH_PROG_TIMEOUT; do
		if [ -n "${!v}" ]; then
			extra+=(-e "$v=${!v}")
		fi
	done
	echo "+ selftests/qemu/run-vm.sh -c $out/console.log -r $out/results.log $kver selftests/qemu/guest-check.sh"
	selftests/qemu/run-vm.sh -t "${MEMWATCH_TIMEOUT:-600}" -l 7 "${extra[@]}" \
		-c "$out/console.log" -r "$out/results.log" \
		"$kver" selftests/qemu/guest-check.sh 2>"$out/run-vm.log" &
	vm_pid=$!

	kfail=0
	ktests=0
	context=()
	while IFS= read -r line; do
		line=${line%$'\r'}
		if [ -n "$MEMWATCH_VERBOSE" ] && [ "$MEMWATCH_VERBOSE" != 0 ]; then
			case "$line" in
			"ok "* | "not ok "* | "Bail out!"* | "MEMWATCH-EXIT "*) ;;
			*) echo "[$kver] $line" ;;
			esac
		fi
		case "$line" in
		"ok "*)
			passed=$((passed + 1))
			ktests=$((ktests + 1))
			shopt -s nocasematch
			if [[ "$line" == *"# skip"* ]]; then
				skipped=$((skipped + 1))
			fi
			shopt -u nocasematch
			echo "[$kver] $line"
			context=()
			;;
		"not ok "* | "Bail out!"*)
			failed=$((failed + 1))
			kfail=1
			ktests=$((ktests + 1))
			if [ -z "$MEMWATCH_VERBOSE" ] || [ "$MEMWATCH_VERBOSE" = 0 ]; then
				for c in "${context[@]}"; do
					echo "[$kver] $c"
				done
			fi
			echo "[$kver] $line"
			context=()
			;;
		"# memwatch-guest: "*)
			if [ -z "$MEMWATCH_VERBOSE" ] || [ "$MEMWATCH_VERBOSE" = 0 ]; then
				echo "[$kver] $line"
			fi
			;;
		"MEMWATCH-EXIT "*) ;;
		*)
			context+=("$line")
			if [ ${#context[@]} -gt 60 ]; then
				context=("${context[@]:1}")
			fi
			;;
		esac
	done < <(tail -n +1 -F --pid="$vm_pid" "$out/results.log" 2>/dev/null)

	set +e
	wait "$vm_pid"
	rc=$?
	set -e
	vm_pid=

	# Boots that failed before memwatch was loaded, and were tried again.
	grep 'the kernel failed to boot' "$out/run-vm.log" | sed "s/^/[$kver] # /" || true

	reason=
	case $rc in
	0) [ "$ktests" = 0 ] && reason="no test results" ;;
	124) reason="guest hung: killed after ${MEMWATCH_TIMEOUT:-600}s" ;;
	125) reason="guest ended without an exit status (panic or set-up failure)" ;;
	4) reason="kernel $kver is not in the cache (run make setup)" ;;
	*) reason="guest script failed with status $rc" ;;
	esac
	if [ -n "$reason" ]; then
		failed=$((failed + 1))
		kfail=1
		echo "[$kver] not ok - $reason"
		# The first kernel error report, else the end of the console.
		bad=$(tr -d '\r' <"$out/console.log" |
			grep -n -m 1 -E 'BUG:|WARNING:|Oops|general protection|Kernel panic' |
			cut -d: -f1)
		if [ -n "$bad" ]; then
			echo "[$kver] # $out/console.log from line $bad:"
			tr -d '\r' <"$out/console.log" | sed -n "$bad,$((bad + 60))p" |
				sed "s/^/[$kver] # /"
		else
			echo "[$kver] # last lines of $out/console.log:"
			tr -d '\r' <"$out/console.log" | tail -n 40 | sed "s/^/[$kver] # /"
		fi
		sed "s/^/[$kver] # /" "$out/run-vm.log"
	fi
	[ "$kfail" = 0 ] || failed_logs+=("$out/console.log" "$out/results.log")
done

for t in ${MEMWATCH_HOST_TESTS:-}; do
	name=$(basename "$t")
	name=${name%.*}
	log=build/$name.log
	: >"$log"
	echo "+ $t"
	"$t" >"$log" 2>&1 &
	vm_pid=$!
	tfail=0
	context=()
	while IFS= read -r line; do
		case "$line" in
		"ok "*)
			passed=$((passed + 1))
			echo "[$name] $line"
			context=()
			;;
		"not ok "*)
			failed=$((failed + 1))
			tfail=1
			for c in "${context[@]}"; do
				echo "[$name] $c"
			done
			echo "[$name] $line"
			context=()
			;;
		*)
			context+=("$line")
			if [ ${#context[@]} -gt 60 ]; then
				context=("${context[@]:1}")
			fi
			;;
		esac
	done < <(tail -n +1 -F --pid="$vm_pid" "$log" 2>/dev/null)
	set +e
	wait "$vm_pid"
	rc=$?
	set -e
	vm_pid=
	if [ "$rc" != 0 ] && [ "$tfail" = 0 ]; then
		failed=$((failed + 1))
		tfail=1
		for c in "${context[@]}"; do
			echo "[$name] $c"
		done
		echo "[$name] not ok - $t exited with status $rc"
	fi
	[ "$tfail" = 0 ] || failed_logs+=("$log")
done

if [ ${#failed_logs[@]} -gt 0 ]; then
	echo "logs: ${failed_logs[*]}"
fi
[ "$skipped" = 0 ] || echo "($skipped of the passed tests were skipped)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
