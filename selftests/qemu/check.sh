#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run guest-check.sh (insmod, selftests/run_tests.sh, rmmod, dmesg check) on
# each kernel given, print every TAP result line prefixed by the kernel, and
# end with one line "N passed, N failed" over all kernels.
#
#   check.sh [KVER[:HOOKS]...]
#
# HOOKS is the module's hooks parameter for that run (auto, direct or
# kprobe; default: the module's default). Without arguments: Debian's 6.1
# and 6.12 kernels of scripts/setup.sh, 6.12 once more with hooks=kprobe,
# and the newest kernel setup fetched.
#
# MEMWATCH_JOBS guests run at once (default 2: each runs its vCPUs on one
# host thread). A kernel's results are printed, in the order given, once
# its guest has finished.
#
# Counted: lines of the guest script's stdout that start with "ok " (passed,
# "# SKIP" included) or "not ok " (failed), and "Bail out!" (failed); nested
# "# ok" lines are not. A guest that hangs (killed after $MEMWATCH_TIMEOUT
# seconds, default 1200), or stops without an exit status (a panic: an oops,
# a soft lockup, a hung task; the kernel's own line is quoted), counts as one
# more failure. The output of a failed test (the lines since the previous
# result) is printed above it; MEMWATCH_VERBOSE=1 prints every line.
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
# Logs: build/KVER/vm[-HOOKS]/console.log (ttyS0, every kernel message) and
# results.log beside it (the guest script's stdout).
#
# The last lines list every failure once more ("failed:"), then the logs of
# the runs that had one, then the counts: the tail of a long log says what
# broke.
#
# Exit status: 0 if nothing failed, 1 otherwise.

set -e

repo=$(cd "$(dirname "$0")/../.." && pwd -P)
cd "$repo"

pids=()
vm_pid=
cleanup() {
	local p
	for p in "${pids[@]}" "$vm_pid"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null
	done
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
	set -- "$KVER_61" "$KVER_612" "$KVER_612:kprobe" ${KVER_NEWEST:+"$KVER_NEWEST"}
fi

jobs=${MEMWATCH_JOBS:-2}
case "$jobs" in
'' | *[!0-9]* | 0) echo "check: MEMWATCH_JOBS must be a positive number" >&2; exit 2 ;;
esac

verbose=
[ -n "$MEMWATCH_VERBOSE" ] && [ "$MEMWATCH_VERBOSE" != 0 ] && verbose=1

runs=("$@")
labels=()
outs=()

# start RUN: boot the guest of runs[RUN] in the background
start() {
	local i=$1 arg=${runs[$1]} kver hooks out v extra=()
	kver=${arg%%:*}
	hooks=
	[ "$arg" != "$kver" ] && hooks=${arg#*:}
	out=build/$kver/vm${hooks:+-$hooks}
	labels[i]=$kver${hooks:+ hooks=$hooks}
	outs[i]=$out
	mkdir -p "$out"
	: >"$out/results.log"
	: >"$out/console.log"
	for v in MEMWATCH_TESTS_TIMEOUT MEMWATCH_RUN_TESTS MEMWATCH_PROG_TIMEOUT; do
		if [ -n "${!v}" ]; then
			extra+=(-e "$v=${!v}")
		fi
	done
	[ -n "$hooks" ] && extra+=(-e "MEMWATCH_HOOKS=$hooks")
	echo "+ selftests/qemu/run-vm.sh -c $out/console.log -r $out/results.log ${extra[*]} $kver selftests/qemu/guest-check.sh"
	selftests/qemu/run-vm.sh -t "${MEMWATCH_TIMEOUT:-1200}" -l 7 "${extra[@]}" \
		-c "$out/console.log" -r "$out/results.log" \
		"$kver" selftests/qemu/guest-check.sh 2>"$out/run-vm.log" &
	pids[i]=$!
}

passed=0
failed=0
skipped=0
failed_logs=()
failed_tests=()

# report RUN: wait for its guest, then count and print its results
report() {
	local i=$1 label=${labels[$1]} out=${outs[$1]} rc kfail=0 ktests=0
	local context=() line c reason bad why

	set +e
	wait "${pids[i]}"
	rc=$?
	set -e
	pids[i]=

	while IFS= read -r line; do
		line=${line%$'\r'}
		if [ -n "$verbose" ]; then
			case "$line" in
			"ok "* | "not ok "* | "Bail out!"* | "MEMWATCH-EXIT "*) ;;
			*) echo "[$label] $line" ;;
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
			echo "[$label] $line"
			context=()
			;;
		"not ok "* | "Bail out!"*)
			failed=$((failed + 1))
			kfail=1
			ktests=$((ktests + 1))
			if [ -z "$verbose" ]; then
				for c in "${context[@]}"; do
					echo "[$label] $c"
				done
			fi
			echo "[$label] $line"
			failed_tests+=("[$label] $line")
			context=()
			;;
		"# memwatch-guest: "*)
			[ -z "$verbose" ] && echo "[$label] $line"
			;;
		"MEMWATCH-EXIT "*) ;;
		*)
			context+=("$line")
			if [ ${#context[@]} -gt 60 ]; then
				context=("${context[@]:1}")
			fi
			;;
		esac
	done <"$out/results.log"

	# Boots that failed before memwatch was loaded, and were tried again.
	grep 'the kernel failed to boot' "$out/run-vm.log" | sed "s/^/[$label] # /" || true

	reason=
	case $rc in
	0) [ "$ktests" = 0 ] && reason="no test results" ;;
	124) reason="guest hung: killed after ${MEMWATCH_TIMEOUT:-1200}s" ;;
	125)
		# the kernel's own words for why it stopped, if it said any
		why=$(tr -d '\r' <"$out/console.log" |
			grep -m 1 -oE 'BUG: soft lockup.*|INFO: task .* blocked for more than [0-9]+ seconds|rcu: INFO: .*stall.*|Oops: .*|BUG: .*|Kernel panic - not syncing: .*' || true)
		reason="guest stopped without an exit status: ${why:-panic or set-up failure}" ;;
	4) reason="kernel ${label%% *} is not in the cache (run make setup)" ;;
	*) reason="guest script failed with status $rc" ;;
	esac
	if [ -n "$reason" ]; then
		failed=$((failed + 1))
		kfail=1
		echo "[$label] not ok - $reason"
		failed_tests+=("[$label] not ok - $reason")
		# The first kernel error report, else the end of the console.
		bad=$(tr -d '\r' <"$out/console.log" |
			grep -n -m 1 -E 'BUG:|WARNING:|Oops|general protection|Kernel panic|INFO: task|rcu: INFO' |
			cut -d: -f1)
		if [ -n "$bad" ]; then
			echo "[$label] # $out/console.log from line $bad:"
			tr -d '\r' <"$out/console.log" | sed -n "$bad,$((bad + 60))p" |
				sed "s/^/[$label] # /"
		else
			echo "[$label] # last lines of $out/console.log:"
			tr -d '\r' <"$out/console.log" | tail -n 40 | sed "s/^/[$label] # /"
		fi
		sed "s/^/[$label] # /" "$out/run-vm.log"
	fi
	[ "$kfail" = 0 ] || failed_logs+=("$out/console.log" "$out/results.log")
}

# Keep $jobs guests running; report each run in order once it has ended.
next=0
for ((i = 0; i < ${#runs[@]}; i++)); do
	while [ "$next" -lt ${#runs[@]} ] && [ $((next - i)) -lt "$jobs" ]; do
		start "$next"
		next=$((next + 1))
	done
	report "$i"
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
			failed_tests+=("[$name] $line")
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
		failed_tests+=("[$name] not ok - $t exited with status $rc")
	fi
	[ "$tfail" = 0 ] || failed_logs+=("$log")
done

# The failures once more, at the end, where a log's tail shows them.
if [ ${#failed_tests[@]} -gt 0 ]; then
	echo "failed:"
	printf '  %s\n' "${failed_tests[@]}"
fi
if [ ${#failed_logs[@]} -gt 0 ]; then
	echo "logs: ${failed_logs[*]}"
fi
[ "$skipped" = 0 ] || echo "($skipped of the passed tests were skipped)"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
