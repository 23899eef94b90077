#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest script of tcg-loop.sh's "storm" test: with memwatch NOT loaded, the
# ftrace site of the page-fault path (folio_add_new_anon_rmap, or
# page_add_new_anon_rmap) is patched in and out $MEMWATCH_STORM_TOGGLES
# times (default 400), while one process per vCPU faults pages in a loop,
# by the kernel's own tracers as memwatch's loading and unloading patch it:
#   MEMWATCH_STORM_MECH=function (default) the function tracer, as an ftrace
#                                          direct call does (hooks=direct)
#   MEMWATCH_STORM_MECH=kprobe             a kprobe event on the function
#                                          (kprobes on ftrace, hooks=kprobe)
# An oops here is the emulator's or the kernel's, not memwatch's. TAP on
# stdout; an oops panics the guest (oops=panic), which ends the run.

set -e

n=${MEMWATCH_STORM_TOGGLES:-400}
tr=/sys/kernel/tracing
[ -e "$tr/set_ftrace_filter" ] || tr=/sys/kernel/debug/tracing
fn=folio_add_new_anon_rmap
grep -qx "$fn" "$tr/available_filter_functions" ||
	fn=page_add_new_anon_rmap
if [ -d /sys/module/memwatch ]; then
	echo "not ok 1 - memwatch is loaded; this run needs it absent"
	exit 1
fi

load=()
for _ in $(seq "$(nproc)"); do
	(while :; do build/touch-mem 16 >/dev/null; done) &
	load+=($!)
done

case ${MEMWATCH_STORM_MECH:-function} in
function)
	what="function-tracer patches"
	echo "$fn" >"$tr/set_ftrace_filter"
	for _ in $(seq "$n"); do
		echo function >"$tr/current_tracer"
		echo nop >"$tr/current_tracer"
	done
	echo >"$tr/set_ftrace_filter"
	;;
kprobe)
	what="kprobe-event enables"
	echo "p:mwstorm $fn" >>"$tr/kprobe_events"
	for _ in $(seq "$n"); do
		echo 1 >"$tr/events/kprobes/mwstorm/enable"
		echo 0 >"$tr/events/kprobes/mwstorm/enable"
	done
	echo "-:mwstorm" >>"$tr/kprobe_events"
	;;
*)
	echo "not ok 1 - MEMWATCH_STORM_MECH must be function or kprobe"
	exit 1
	;;
esac
kill "${load[@]}" 2>/dev/null || true
wait 2>/dev/null || true
echo "ok 1 - $n $what of $fn under a fault load, memwatch not loaded"
