#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The test list of `make check-debug` (MEMWATCH_RUN_TESTS for guest-check.sh
# on the debug kernel): every selftest, the fuzzer and the stress test
# included, then a kmemleak scan. kmemleak reports an object only after it
# has gone unreferenced for a while, so the scan is repeated after a pause.
# TAP on stdout, like run_tests.sh.

set -e
set -o pipefail

dir=$(cd "$(dirname "$0")/.." && pwd)
rc=0
"$dir/run_tests.sh" || rc=$?

kml=/sys/kernel/debug/kmemleak
if [ ! -w "$kml" ]; then
	echo "ok - kmemleak scan # SKIP $kml is not there (CONFIG_DEBUG_KMEMLEAK off)"
	exit "$rc"
fi
echo scan >"$kml"
sleep 5
echo scan >"$kml"
leaks=$(cat "$kml")
if [ -z "$leaks" ]; then
	echo "ok - kmemleak scan: no leaks"
else
	echo "$leaks" | head -n 200 | sed 's/^/# kmemleak: /'
	echo "not ok - kmemleak scan: $(echo "$leaks" | grep -c '^unreferenced object') unreferenced objects"
	rc=1
fi
exit "$rc"
