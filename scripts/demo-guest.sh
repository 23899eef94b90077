#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make demo` script, run inside the 6.12 guest by
# selftests/qemu/run-vm.sh (as root, repository as the working directory):
# load memwatch, show its status, watch a program that faults in 64 MiB of
# anonymous memory, and show the status (the probes' hit counts rose) and
# the program's regions.
#
# Environment (from run-vm.sh): MEMWATCH_KO, MEMWATCH_CTL, MEMWATCH_REPO.

set -e

loaded=
touch_pid=

cleanup() {
	if [ -n "$touch_pid" ]; then
		kill "$touch_pid" 2>/dev/null || true
	fi
	if [ -n "$loaded" ]; then
		run rmmod memwatch
	fi
}
trap cleanup EXIT

run() {
	echo "+ $*"
	"$@"
}

step() {
	echo
	echo "### $*"
}

memwatchctl() {
	run "$MEMWATCH_CTL" "$@"
}

touch_mem="$MEMWATCH_REPO/build/touch-mem"

# touch-mem -w: says "ready" and waits for a line before mapping, and for
# another before unmapping.
start_touch_mem() {
	coproc TOUCH { exec "$touch_mem" -w "$1"; }
	touch_pid=$TOUCH_PID
	read -r line <&"${TOUCH[0]}"
	echo "$line"
}

touch_mem_next() {
	echo >&"${TOUCH[1]}"
	if read -r line <&"${TOUCH[0]}"; then
		echo "$line"
	fi
}

step "load the module"
run insmod "$MEMWATCH_KO"
loaded=1

step "status: probes attached, nothing watched yet"
memwatchctl status

step "start a program that will map and touch 64 MiB, and watch it"
echo "+ $touch_mem -w 64 &"
start_touch_mem 64
memwatchctl watch "$touch_pid"

step "let it fault the memory in"
touch_mem_next

step "status: the hit counts rose"
memwatchctl status

step "its regions: the 64 MiB one is fully touched"
memwatchctl report "$touch_pid"

step "let it exit, then unload"
touch_mem_next
wait "$touch_pid" || true
touch_pid=
loaded=
run rmmod memwatch
