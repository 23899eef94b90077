#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The `make demo` script, run inside the 6.12 guest by
# selftests/qemu/run-vm.sh (as root, repository as the working directory):
# the case memwatch exists for. build/jarload inflates JAR entries through
# zlib from 16 named loader threads, as the service's start-up did; run
# under `memwatchctl run`, its report flags the 64 MiB glibc arenas that
# are mostly address space, shows the ones that hold physical memory, and
# names the loader threads and the code (call stacks through zlib and
# glibc) that created and filled them. A recording of
# the same start-up is sent to the host (scripts/demo-plot.sh draws it).
# Then the same through a JVM, java.util.zip.Inflater from many threads,
# when a JDK is installed.
#
# Environment (from run-vm.sh): MEMWATCH_KO, MEMWATCH_CTL, MEMWATCH_REPO.

set -e

loaded=

cleanup() {
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

# The lazy arenas and the full ones, and who made and filled them.
summary() {
	python3 - "$1" <<'PY'
import json, sys
rep = json.load(open(sys.argv[1]))
arenas = [r for r in rep["regions"] if r["reserved_bytes"] >= 32 << 20]
lazy = [r for r in arenas if r["lazy"]]
print("%d regions of 32 MiB or more; %d lazy (mostly address space), "
      "%d holding memory" % (len(arenas), len(lazy), len(arenas) - len(lazy)))
shown = sorted(arenas, key=lambda r: -r["touched_bytes"])[:16]

def creator(r):
    # its latest name, and the one it had when it made the region
    now, was = r["creator_latest_comm"], r["creator_comm"]
    return now if now == was else "%s (was %s)" % (now, was)

# one width for every address, as memwatchctl's tables print them
digits = max([len("%x" % int(r["end"], 16)) for r in shown] or [1])
for r in shown:
    fill = ", ".join("%s %.1fM" % (t["comm"], t["faulted_bytes"] / 2**20)
                     for t in r["threads"][:2]) or "-"
    print("  0x%0*x %5.1fM reserved %5.1fM touched %-4s created by %-14s "
          "filled by %s" % (digits, int(r["start"], 16),
                            r["reserved_bytes"] / 2**20,
                            r["touched_bytes"] / 2**20,
                            "LAZY" if r["lazy"] else "", creator(r), fill))
if len(arenas) > len(shown):
    print("  ... and %d more" % (len(arenas) - len(shown)))
PY
}

# Which code reserved the arenas and which code filled them: the call
# stacks of report --by-stack, largest first, a line per stack. Then the
# demo checks what it claims ("c": jarload, "java": the JVM) and fails if
# the stacks do not show it.
stacks() {
	python3 - "$1" "$2" <<'PY'
import json, os, sys
rep = json.load(open(sys.argv[1]))
mode = sys.argv[2]

def frames(st, n=9):
    fr = ["%s (%s)" % (f["symbol"], os.path.basename(f["module"]) or "?")
          for f in st["frames"][:n]]
    return " <- ".join(fr) + (" <- ..." if len(st["frames"]) > n else "")

print("code that made regions of 32 MiB or more, most reserved first:")
for g in [g for g in rep["by_stack"] if "stack" in g and
          g["reserved_bytes"] >= 32 << 20][:3]:
    print("  %3d regions, %6.1fM reserved, %6.1fM touched: %s" % (
        g["regions"], g["reserved_bytes"] / 2**20,
        g["touched_bytes"] / 2**20, frames(g["stack"])))
print("code whose page faults filled regions (sampled), most first:")
for g in rep["by_fill_stack"][:3]:
    print("  %6.1fM faulted in %3d regions: %s" % (
        g["faulted_bytes"] / 2**20, g["regions"], frames(g["stack"])))
def names(st):
    return [f["symbol"] for f in st["frames"]]

def inflating(f):
    return "inflate" in names(f["stack"])

# glibc's arenas (64 MiB each: HEAP_MAX_SIZE on 64-bit) the loader threads
# touched, not the JVM's heap or code cache; those zlib's inflate filled
# most first, and in each the code that filled it, inflate first
arenas = [r for r in rep["regions"] if r["reserved_bytes"] == 64 << 20 and
          any(t["comm"].startswith("jar-loader") for t in r["threads"])]
arenas.sort(key=lambda r: (-sum(f["faulted_bytes"] for f in r["fill_stacks"]
                                if inflating(f)), -r["touched_bytes"]))
print("what filled the loader threads' arenas (sampled), for the first %d "
      "of %d:" % (min(3, len(arenas)), len(arenas)))
for r in arenas[:3]:
    print("  0x%x, %.1fM touched:" % (int(r["start"], 16),
                                       r["touched_bytes"] / 2**20))
    for f in sorted(r["fill_stacks"],
                    key=lambda f: (not inflating(f), -f["faulted_bytes"]))[:2]:
        print("    %6.1fM by %s" % (f["faulted_bytes"] / 2**20,
                                   frames(f["stack"], 7)))

def mods(st):
    return [os.path.basename(f["module"]) for f in st["frames"]]

failed = []
def claim(ok, what):
    print("check: %s: %s" % ("ok" if ok else "FAILED", what))
    if not ok:
        failed.append(what)

if mode == "c":
    made = [r for r in arenas if "stack" in r]
    claim(made and all("inflateInit2_" in names(r["stack"]) and
                       "loader" in names(r["stack"]) for r in made),
          "%d loader arenas were made by malloc in zlib's inflateInit2_, "
          "called by the loader thread's function" % len(made))
    fill = sum(f["faulted_bytes"] for r in arenas for f in r["fill_stacks"]
               if inflating(f))
    faulted = sum(r["faulted_bytes"] for r in arenas)
    claim(faulted and fill * 2 >= faulted,
          "zlib's inflate filled %.1fM of the %.1fM faulted into them" %
          (fill / 2**20, faulted / 2**20))
else:
    jni = [r for r in arenas if any(
        inflating(f) and
        any(n.startswith("Java_java_util_zip_Inflater") for n in
            names(f["stack"])) for f in r["fill_stacks"])]
    claim(jni, "%d arenas the loader threads filled show zlib's inflate "
          "called from the JDK's native Inflater code" % len(jni))
    real = [r for r in arenas if "stack" in r and
            "libjvm.so" in mods(r["stack"]) and
            "libc.so.6" in mods(r["stack"])]
    claim(real, "%d of their creating stacks run through libjvm and libc" %
          len(real))
sys.exit(1 if failed else 0)
PY
}

jarload="$MEMWATCH_REPO/build/jarload"

step "load the module"
run insmod "$MEMWATCH_KO"
loaded=1

step "the JAR loader's start-up, watched from its first instruction"
memwatchctl run --threads --stacks --by-stack --min-size 32M \
	-o /tmp/jarload.json -- "$jarload" </dev/null >/tmp/jarload.txt
# the table's head (regions, their threads and call stacks), and its total
head -n 40 /tmp/jarload.txt
echo "  ..."
grep '^total:' /tmp/jarload.txt

step "the 64 MiB glibc arenas: lazy ones flagged, and the loader threads that made and filled them"
summary /tmp/jarload.json

step "the code: who reserved the arenas, who filled them (call stacks, unwound through zlib and glibc)"
stacks /tmp/jarload.json c

step "the same start-up recorded every 50ms, for the growth plot"
memwatchctl record --interval 50ms -o /tmp/capture.jsonl -- \
	"$jarload" </dev/null >/dev/null
# The guest cannot write to the host: the capture goes over the result
# channel only (not the console), for scripts/demo-plot.sh to draw there.
{
	echo "memwatch-demo-capture-begin"
	gzip -9c /tmp/capture.jsonl | base64 -w 76
	echo "memwatch-demo-capture-end"
} >/dev/ttyS1
"$MEMWATCH_CTL" plot /tmp/capture.jsonl -o /tmp/growth.svg
echo "(capture: $(wc -l </tmp/capture.jsonl) samples; sent to the host for plotting)"

step "the same through a JVM: java.util.zip.Inflater from 16 threads"
if command -v java >/dev/null && [ -e "$MEMWATCH_REPO/build/java/JarLoad.class" ]; then
	memwatchctl run --min-size 32M --stacks --by-stack -o /tmp/java.json -- \
		java -Xmx128m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 \
		-cp "$MEMWATCH_REPO/build/java" JarLoad </dev/null >/tmp/java.txt
	grep '^total:' /tmp/java.txt || true
	summary /tmp/java.json
	stacks /tmp/java.json java
else
	echo "skipped: no JDK (install openjdk-17-jdk-headless for java and javac)"
fi

loaded=
run rmmod memwatch
