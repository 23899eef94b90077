#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest script of `make ctl-asan`: load the module and run every
# selftests/ctl_*.py once against the memwatchctl that MEMWATCH_CTL names
# (built with -fsanitize=address,undefined). Sanitizer reports go to log
# files, not the tests' captured stderr, and any report fails the run, as
# does a failing test. TAP on stdout.

set -e

logdir=/tmp/sanitizer
mkdir -p "$logdir"
export ASAN_OPTIONS="log_path=$logdir/asan:halt_on_error=1:detect_leaks=1"
export UBSAN_OPTIONS="log_path=$logdir/ubsan:halt_on_error=1:print_stacktrace=1"
export MEMWATCH_CTL

n=0
rc=0
insmod "$MEMWATCH_KO"
for t in selftests/ctl_*.py; do
	[ -x "$t" ] || continue
	n=$((n + 1))
	echo "# ==== $t with $MEMWATCH_CTL ===="
	if PYTHONUNBUFFERED=1 timeout 600 "$t" </dev/null 2>&1 | sed 's/^/# /'; then
		echo "ok $n - $t under ASan+UBSan"
	else
		echo "not ok $n - $t under ASan+UBSan"
		rc=1
	fi
done
n=$((n + 1))
if ls "$logdir"/* >/dev/null 2>&1; then
	for f in "$logdir"/*; do
		sed "s|^|# $f: |" "$f" | head -n 100
	done
	echo "not ok $n - sanitizer reports: $(ls "$logdir" | wc -l) files"
	rc=1
else
	echo "ok $n - no sanitizer reports"
fi
rmmod memwatch || true
echo "1..$n"
exit "$rc"
