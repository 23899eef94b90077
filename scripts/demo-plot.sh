#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The host half of `make demo`: take the capture scripts/demo-guest.sh sent
# over the guest's result channel (RESULTS, run-vm.sh -r) and draw it with
# memwatchctl plot into OUTDIR/growth.svg (and growth.png with rsvg-convert).
#
#   demo-plot.sh RESULTS OUTDIR

set -e

results=$1
outdir=$2
[ -r "$results" ] && [ -n "$outdir" ] || {
	echo "usage: $0 RESULTS OUTDIR" >&2
	exit 2
}

mkdir -p "$outdir"
tr -d '\r' <"$results" |
	sed -n '/^memwatch-demo-capture-begin$/,/^memwatch-demo-capture-end$/p' |
	sed '1d;$d' | base64 -d | gzip -dc >"$outdir/capture.jsonl"
echo "+ ctl/memwatchctl plot $outdir/capture.jsonl -o $outdir/growth.svg"
ctl/memwatchctl plot "$outdir/capture.jsonl" -o "$outdir/growth.svg"
if command -v rsvg-convert >/dev/null; then
	rsvg-convert -o "$outdir/growth.png" "$outdir/growth.svg"
fi
echo
echo "demo: the growth plot is $(cd "$outdir" && pwd)/growth.svg (open it in a browser)"
