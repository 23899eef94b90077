#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# First step inside the guest chroot (started by the initramfs /init, as
# root, with the host root mounted read-only as /). Runs $MEMWATCH_SCRIPT
# from the repository with its stdout copied to the result channel (ttyS1)
# and to the console; its stderr goes to the console only, so stray stderr
# output can never split a TAP line.
#
# Environment (from run-vm.sh): MEMWATCH_REPO, MEMWATCH_SCRIPT,
# MEMWATCH_KVER, MEMWATCH_KO, MEMWATCH_CTL, MEMWATCH_MODE.

set -e -o pipefail

cleanup() {
	# Leave nothing running that could keep the result channel open.
	jobs -p | xargs -r kill 2>/dev/null || true
}
trap cleanup EXIT

cd "$MEMWATCH_REPO"

if [ "$MEMWATCH_MODE" = shell ]; then
	echo "memwatch guest: kernel $(uname -r); repository $MEMWATCH_REPO (read-only)"
	echo "MEMWATCH_KO=$MEMWATCH_KO MEMWATCH_CTL=$MEMWATCH_CTL"
	echo "poweroff with: exit"
	set +e
	setsid -c bash -i </dev/ttyS0 >/dev/ttyS0 2>&1
	exit 0
fi

{
	echo "# memwatch-guest: kernel $(uname -r), $(nproc) cpus, $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"
	"$MEMWATCH_SCRIPT"
} | tee /dev/ttyS1
