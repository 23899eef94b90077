#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Guest half of the package test (selftests/qemu/deb-check.sh): the
memwatch.ko that DKMS built from the memwatch-dkms package inside a Debian
12 root, driven by the memwatchctl that the memwatchctl package installed
in that root, run there (chroot) so that it uses the root's libraries.

Loads the module, checks `memwatchctl status` reports the packages'
version, watches a workload that maps 64 MiB and writes 16 MiB of it, and
checks the region in `memwatchctl report --json` against /proc/PID/smaps
(and pagemap where the region shares a VMA with a neighbour): reserved
bytes the mapping's size, touched bytes its resident bytes. Then unwatches,
unloads the module, and checks the kernel log and taint.

Environment (passed with run-vm.sh -e): MEMWATCH_KO (the module taken out
of the root), MEMWATCH_DEB_ROOT (the root), MEMWATCH_DEB_VERSION (the
packages' version). TAP on stdout.
"""

import json
import os
import re
import subprocess
import sys

MIB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
MAP_SIZE = 64 * MIB
WRITE_SIZE = 16 * MIB
TIMEOUT = 120

KO = os.environ["MEMWATCH_KO"]
ROOT = os.environ["MEMWATCH_DEB_ROOT"]
VERSION = os.environ["MEMWATCH_DEB_VERSION"]
CTL = ["chroot", ROOT, "/usr/sbin/memwatchctl"]

# Prints its pid, maps and writes on the first line of input, prints the
# mapping's address, and stays at rest until the second line.
WORKLOAD = r"""
import ctypes, mmap, os, sys
print(os.getpid(), flush=True)
sys.stdin.readline()
m = mmap.mmap(-1, %d, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
addr = ctypes.addressof(ctypes.c_char.from_buffer(m))
ctypes.memset(addr, 0x5a, %d)
print(hex(addr), flush=True)
sys.stdin.readline()
""" % (MAP_SIZE, WRITE_SIZE)

SMAPS_HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) \S+ \S+ \S+ \S+\s*(.*)$")

n = 0
failed = 0


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def result(ok, name, why=""):
    global n, failed
    n += 1
    if ok:
        out("ok %d - %s" % (n, name))
    else:
        failed += 1
        for line in why.splitlines():
            out("# " + line)
        out("not ok %d - %s" % (n, name))
    return ok


def run(cmd, **kw):
    return subprocess.run(cmd, capture_output=True, text=True,
                          errors="replace", timeout=TIMEOUT,
                          stdin=subprocess.DEVNULL, **kw)


def ctl(*args):
    return run(CTL + [str(a) for a in args])


def anon_vmas(pid):
    """Anonymous VMAs of pid as (start, end, Rss bytes)."""
    vmas = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = SMAPS_HEAD.match(line)
            if m:
                cur = None
                if m.group(3).strip() in ("", "[heap]") or \
                        m.group(3).startswith("[anon"):
                    cur = [int(m.group(1), 16), int(m.group(2), 16), 0]
                    vmas.append(cur)
            elif cur is not None and line.startswith("Rss:"):
                cur[2] = int(line.split()[1]) * 1024
    return [tuple(v) for v in vmas]


def present_bytes(pid, lo, hi):
    """Bytes of [lo, hi) with a page mapped, from pagemap."""
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(lo // PAGE * 8)
        data = f.read((hi - lo) // PAGE * 8)
    return sum(PAGE for i in range(0, len(data), 8)
               if int.from_bytes(data[i:i + 8], "little") >> 63)


def smaps_truth(pid, start, end):
    """(reserved, touched) of [start, end) as smaps sees it: the anonymous
    VMAs in it and their Rss; a VMA that reaches past the range (merged
    with a neighbouring mapping) is counted page by page from pagemap."""
    reserved = touched = 0
    for vs, ve, rss in anon_vmas(pid):
        lo, hi = max(start, vs), min(end, ve)
        if lo >= hi:
            continue
        reserved += hi - lo
        touched += rss if (lo, hi) == (vs, ve) else present_bytes(pid, lo, hi)
    return reserved, touched


def dmesg_mark():
    mark = "memwatch-deb-check: start %d" % os.getpid()
    with open("/dev/kmsg", "w") as f:
        f.write(mark + "\n")
    return mark


def main():
    mark = dmesg_mark()
    out("TAP version 13")
    if not result(run(["insmod", KO]).returncode == 0,
                  "insmod the memwatch.ko DKMS built in the root"):
        out("1..%d" % n)
        return 1

    subprocess.run(["mount", "-t", "proc", "proc", ROOT + "/proc"],
                   check=True)
    st = ctl("status")
    result(st.returncode == 0 and
           re.search(r"^module version:\s+%s$" % re.escape(VERSION),
                     st.stdout, re.M) is not None,
           "the packaged memwatchctl (in the root) reports module version %s"
           % VERSION, "exit %d\n%s%s" % (st.returncode, st.stdout, st.stderr))

    work = subprocess.Popen([sys.executable, "-c", WORKLOAD],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    try:
        pid = int(work.stdout.readline())
        w = ctl("watch", pid)
        result(w.returncode == 0, "memwatchctl watch PID",
               "exit %d: %s" % (w.returncode, w.stderr))
        work.stdin.write("map\n")
        work.stdin.flush()
        addr = int(work.stdout.readline(), 16)

        why = ""
        for _ in range(3):
            before = anon_vmas(pid)
            rep = ctl("report", pid, "--json")
            truth = smaps_truth(pid, addr, addr + MAP_SIZE)
            if anon_vmas(pid) == before:
                break
        if rep.returncode != 0:
            why = "report: exit %d: %s" % (rep.returncode, rep.stderr)
        else:
            regions = [r for r in json.loads(rep.stdout)["regions"]
                       if int(r["start"], 16) == addr]
            if len(regions) != 1:
                why = "no region starts at %#x:\n%s" % (addr, rep.stdout)
            else:
                r = regions[0]
                got = (r["reserved_bytes"], r["touched_bytes"])
                if got != truth or got[0] != MAP_SIZE or got[1] < WRITE_SIZE:
                    why = ("region %#x: memwatch says reserved %d touched %d;"
                           " smaps says reserved %d touched %d; the workload"
                           " mapped %d and wrote %d"
                           % ((addr,) + got + truth + (MAP_SIZE, WRITE_SIZE)))
        result(not why, "report: the 64 MiB mapping's touched bytes match "
               "smaps (%d MiB written)" % (WRITE_SIZE // MIB), why)

        u = ctl("unwatch", pid)
        result(u.returncode == 0, "memwatchctl unwatch PID",
               "exit %d: %s" % (u.returncode, u.stderr))
    finally:
        work.kill()
        work.wait()
        subprocess.run(["umount", ROOT + "/proc"])

    rm = run(["rmmod", "memwatch"])
    result(rm.returncode == 0, "rmmod memwatch", rm.stderr)

    log = run(["dmesg"]).stdout
    log = log[log.find(mark):]
    bad = [line for line in log.splitlines()
           if re.search(r"BUG:|WARNING:|Oops|general protection|Call Trace",
                        line)]
    # O (out-of-tree) and E (signed by a key the kernel does not know: the
    # DKMS MOK is not enrolled here) are expected.
    with open("/proc/sys/kernel/tainted") as f:
        other = int(f.read()) & ~((1 << 12) | (1 << 13))
    result(not bad and other == 0, "dmesg clean",
           "\n".join(bad[:50]) + "\ntaint bits other than O and E: %d"
           % other)
    out("1..%d" % n)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
