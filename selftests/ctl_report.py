#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""End-to-end test of `memwatchctl report` against the loaded module.

Starts small Python workloads, watches them with memwatchctl, and checks
`memwatchctl report PID --json` three ways:

  * against the JSON contract: the schema (docs/memwatchctl.schema.json,
    memwatchctl-json(7)) for every field's presence and type, addresses as
    "0x..." strings, kinds and flags from the allowed sets; and here,
    totals equal to the sums over the regions (except the peak, which is
    the watch's own), lazy flags matching the thresholds;
  * against the workload's own arithmetic (a 64 MiB PROT_NONE|MAP_NORESERVE
    reservation with 1 MiB made read-write and touched is lazy; a 64 MiB
    mapping touched in full is not);
  * against /proc/PID/smaps, an independent truth: at rest, each region's
    reserved_bytes is the size of the anonymous VMAs inside it and its
    touched_bytes their Rss.

It also checks memwatchctl's exit statuses (0 success, 1 runtime error,
2 usage error; memwatchctl alone is a usage error that lists the
commands), the tables of report, top and compare: their columns line
up under their headings, and every address of a table has as many digits
as the others, with a MAP_FIXED mapping low in the address space (the
first free 256 MiB step from 0x10000000) beside the 0x7f... ones. The report of a process that has exited says so in its first line,
and is given once. status --json and list --json are checked against the
schema, and list's totals against the report's.

Needs root and the memwatch module; otherwise it skips (exit 4). Set
MEMWATCH_CTL to memwatchctl's absolute path (default: ../ctl/memwatchctl
beside this file). Output is TAP.
"""

import ctypes
import os
import re
import subprocess
import sys

from mw_tap import (CTL, Fail, check, diag, parse_json,
                    require_root_and_module, run_tests)


MIB = 1 << 20
PAGE = os.sysconf("SC_PAGE_SIZE")
TIMEOUT = 120

# the thresholds memwatchctl documents as its defaults
DEFAULT_MIN_SIZE = 32 * MIB
DEFAULT_MAX_PCT = 25

KINDS = {"mmap", "heap", "stack", "mremap", "preexisting"}
FLAGS = {"private", "shared", "noreserve", "stack", "fixed", "hugetlb",
         "incomplete"}
TOTALS = ("regions", "lazy_regions", "reserved_bytes", "committed_bytes",
          "touched_bytes", "peak_touched_bytes", "faulted_bytes")
REGION_INTS = ("reserved_bytes", "committed_bytes", "touched_bytes",
               "peak_touched_bytes", "faulted_bytes", "created_ns",
               "creator_tid")
HEX = re.compile(r"^0x[0-9a-f]+$")

WORKLOAD_COMM = "mwtest-main"

# The workload: reads one command a line, answers "ok ADDRESS" and then
# blocks in readline(), so that it is at rest while it is examined.
WORKLOAD = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mmap.restype = ctypes.c_void_p
libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                      ctypes.c_int, ctypes.c_int, ctypes.c_long)
libc.mprotect.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int)
libc.prctl.argtypes = (ctypes.c_int, ctypes.c_char_p, ctypes.c_ulong,
                       ctypes.c_ulong, ctypes.c_ulong)
PROT_NONE, PROT_RW = 0, 3
MAP_PRIVATE, MAP_ANONYMOUS, MAP_NORESERVE = 0x02, 0x20, 0x4000
MAP_FIXED_NOREPLACE = 0x100000
MIB = 1 << 20
PR_SET_NAME = 15
libc.prctl(PR_SET_NAME, b"%s", 0, 0, 0)

def mmap(size, prot, flags):
    addr = libc.mmap(None, size, prot, MAP_PRIVATE | MAP_ANONYMOUS | flags,
                     -1, 0)
    if addr is None or addr == ctypes.c_void_p(-1).value:
        raise OSError(ctypes.get_errno(), "mmap")
    return addr

while True:
    line = sys.stdin.readline()
    if not line:
        break
    cmd = line.split()[0]
    if cmd == "lazy":
        # a glibc-arena-like reservation: 64 MiB of address space, 1 MiB
        # of it made usable and written
        addr = mmap(64 * MIB, PROT_NONE, MAP_NORESERVE)
        if libc.mprotect(addr, MIB, PROT_RW):
            raise OSError(ctypes.get_errno(), "mprotect")
        ctypes.memset(addr, 0x5a, MIB)
    elif cmd == "full":
        addr = mmap(64 * MIB, PROT_RW, 0)
        ctypes.memset(addr, 0xa5, 64 * MIB)
    elif cmd == "low":
        # 16 MiB, touched, at the address given: far below the others,
        # as a JVM's heap under 4 GiB is
        want = int(line.split()[1], 16)
        addr = libc.mmap(want, 16 * MIB, PROT_RW,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE,
                         -1, 0)
        if addr != want:
            raise OSError(ctypes.get_errno(), "mmap at %%#x" %% want)
        ctypes.memset(addr, 0x3c, 16 * MIB)
    else:
        addr = 0
    sys.stdout.write("ok %%#x\n" %% addr)
    sys.stdout.flush()
""" % WORKLOAD_COMM




def ctl(*args):
    """Run memwatchctl; return (exit status, stdout, stderr)."""
    p = subprocess.run([CTL] + [str(a) for a in args], capture_output=True,
                       text=True, errors="replace", timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def ctl_ok(*args):
    rc, so, se = ctl(*args)
    check(rc == 0, "memwatchctl %s: exit %d, stderr: %s"
          % (" ".join(map(str, args)), rc, se.strip()))
    return so


def report_json(pid, *args):
    """report --json, parsed and checked against the schema."""
    return parse_json(ctl_ok("report", pid, "--json", *args), "report",
                      "report --json")


class Workload:
    def __init__(self):
        self.p = subprocess.Popen([sys.executable, "-c", WORKLOAD],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.pid = self.p.pid
        self.cmd("ping")  # started, and named

    def cmd(self, what):
        self.p.stdin.write(what + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline().split()
        check(line and line[0] == "ok",
              "workload %d did not do %r: %r" % (self.pid, what, line))
        return int(line[1], 16)

    def stop(self):
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()
            self.p.wait()


# /proc truth ---------------------------------------------------------------

SMAPS_HEAD = re.compile(r"^([0-9a-f]+)-([0-9a-f]+) (\S+) \S+ \S+ \d+\s*(.*)$")


def is_anonymous(name):
    # private anonymous VMAs have no name (or a PR_SET_VMA name); shared
    # anonymous ones show as /dev/zero; the heap and stack are named
    return (name in ("", "[heap]", "[stack]", "/dev/zero (deleted)")
            or name.startswith("[anon:") or name.startswith("[anon_shmem:")
            or name.startswith("[stack:"))


def read_smaps(pid):
    """Anonymous VMAs as (start, end, rss bytes), lowest first."""
    vmas = []
    cur = None
    with open("/proc/%d/smaps" % pid) as f:
        for line in f:
            m = SMAPS_HEAD.match(line)
            if m:
                cur = None
                if is_anonymous(m.group(4).strip()):
                    cur = [int(m.group(1), 16), int(m.group(2), 16), 0]
                    vmas.append(cur)
            elif cur is not None and line.startswith("Rss:"):
                cur[2] = int(line.split()[1]) * 1024
    return [tuple(v) for v in vmas]


def zero_page_pfn():
    """The pfn of the shared zero page (mapped by read faults), or None."""
    libc = ctypes.CDLL(None, use_errno=True)
    libc.mmap.restype = ctypes.c_void_p
    libc.mmap.argtypes = (ctypes.c_void_p, ctypes.c_size_t, ctypes.c_int,
                          ctypes.c_int, ctypes.c_int, ctypes.c_long)
    addr = libc.mmap(None, PAGE, 1, 0x22, -1, 0)  # PROT_READ, private anon
    if addr is None or addr == ctypes.c_void_p(-1).value:
        return None
    ctypes.string_at(addr, 1)  # a read fault maps the zero page
    with open("/proc/self/pagemap", "rb") as f:
        f.seek(addr // PAGE * 8)
        entry = int.from_bytes(f.read(8), "little")
    pfn = entry & ((1 << 55) - 1)
    return pfn if entry >> 63 and pfn else None


ZERO_PFN = None


def resident_bytes(pid, lo, hi):
    """Bytes of [lo, hi) backed by pages, as smaps Rss counts them (the
    zero page does not count). For VMAs that straddle a region's edge."""
    n = (hi - lo) // PAGE
    with open("/proc/%d/pagemap" % pid, "rb") as f:
        f.seek(lo // PAGE * 8)
        data = f.read(n * 8)
    count = 0
    for i in range(0, len(data), 8):
        entry = int.from_bytes(data[i:i + 8], "little")
        if entry >> 63 and (entry & ((1 << 55) - 1)) != ZERO_PFN:
            count += 1
    return count * PAGE


def subtract(ranges, holes):
    for hs, he in holes:
        nxt = []
        for s, e in ranges:
            if he <= s or hs >= e:
                nxt.append((s, e))
                continue
            if s < hs:
                nxt.append((s, hs))
            if he < e:
                nxt.append((he, e))
        ranges = nxt
    return ranges


def truth(pid, region, regions, vmas):
    """(reserved, touched) of a region from smaps: the anonymous VMAs
    inside [start, end), less the ranges of regions nested in it (a
    mapping placed in a hole of this one). Regions share a VMA when the
    kernel merged their VMAs; the shared VMA's pages are then counted from
    pagemap."""
    s, e = int(region["start"], 16), int(region["end"], 16)
    holes = []
    for q in regions:
        qs, qe = int(q["start"], 16), int(q["end"], 16)
        if q is not region and s <= qs and qe <= e and (qs, qe) != (s, e):
            holes.append((qs, qe))
    own = subtract([(s, e)], holes)
    reserved = touched = 0
    for vs, ve, rss in vmas:
        for a, b in own:
            lo, hi = max(a, vs), min(b, ve)
            if lo >= hi:
                continue
            reserved += hi - lo
            if (lo, hi) == (vs, ve):
                touched += rss
            else:
                touched += resident_bytes(pid, lo, hi)
    return reserved, touched


# contract checks -----------------------------------------------------------

def is_uint(v):
    return isinstance(v, int) and not isinstance(v, bool) and v >= 0


def validate(rep, pid, min_size=DEFAULT_MIN_SIZE, max_pct=DEFAULT_MAX_PCT):
    """Check a report object against contract.md; return a list of
    problems."""
    errs = []

    def need(obj, key, test, what, where):
        if key not in obj:
            errs.append("%s: missing %r" % (where, key))
            return False
        if not test(obj[key]):
            errs.append("%s: %r is %r, not %s" % (where, key, obj[key], what))
            return False
        return True

    if not isinstance(rep, dict):
        return ["report is not an object"]
    need(rep, "pid", lambda v: v == pid, "the pid %d" % pid, "report")
    need(rep, "comm", lambda v: isinstance(v, str), "a string", "report")
    need(rep, "watch_ns", is_uint, "an unsigned integer", "report")
    if need(rep, "totals", lambda v: isinstance(v, dict), "an object",
            "report"):
        for k in TOTALS:
            need(rep["totals"], k, is_uint, "an unsigned integer", "totals")
    if not need(rep, "regions", lambda v: isinstance(v, list), "an array",
                "report"):
        return errs

    for i, r in enumerate(rep["regions"]):
        where = "regions[%d]" % i
        if not isinstance(r, dict):
            errs.append(where + " is not an object")
            continue
        ok = need(r, "start", lambda v: isinstance(v, str) and HEX.match(v),
                  "a hex string", where)
        ok &= need(r, "end", lambda v: isinstance(v, str) and HEX.match(v),
                   "a hex string", where)
        if ok:
            where = "region %s-%s" % (r["start"], r["end"])
            if int(r["start"], 16) >= int(r["end"], 16):
                errs.append(where + ": start is not below end")
        need(r, "kind", lambda v: v in KINDS, "one of %s" % sorted(KINDS),
             where)
        need(r, "flags", lambda v: isinstance(v, list) and
             all(f in FLAGS for f in v) and len(set(v)) == len(v),
             "distinct flags from %s" % sorted(FLAGS), where)
        for k in REGION_INTS:
            need(r, k, is_uint, "an unsigned integer", where)
        need(r, "creator_comm", lambda v: isinstance(v, str), "a string",
             where)
        need(r, "lazy", lambda v: isinstance(v, bool), "a boolean", where)
        if need(r, "threads", lambda v: isinstance(v, list), "an array",
                where):
            for t in r["threads"]:
                if not (isinstance(t, dict) and is_uint(t.get("tid"))
                        and isinstance(t.get("comm"), str)
                        and is_uint(t.get("faulted_bytes"))):
                    errs.append("%s: bad thread entry %r" % (where, t))
        if errs:
            continue
        if r["committed_bytes"] > r["reserved_bytes"]:
            errs.append(where + ": committed_bytes > reserved_bytes")
        if r["touched_bytes"] > r["reserved_bytes"]:
            errs.append(where + ": touched_bytes > reserved_bytes")
        if r["reserved_bytes"] > int(r["end"], 16) - int(r["start"], 16):
            errs.append(where + ": reserved_bytes > end - start")
        if r["peak_touched_bytes"] < r["touched_bytes"]:
            errs.append(where + ": peak_touched_bytes < touched_bytes")
        lazy = (r["reserved_bytes"] >= min_size and
                r["touched_bytes"] * 100 <= max_pct * r["reserved_bytes"])
        if r["lazy"] != lazy:
            errs.append("%s: lazy is %s, the thresholds (%d bytes, %d%%) "
                        "give %s" % (where, r["lazy"], min_size, max_pct,
                                     lazy))
    if errs:
        return errs

    t, regs = rep["totals"], rep["regions"]
    sums = {
        "regions": len(regs),
        "lazy_regions": sum(1 for r in regs if r["lazy"]),
    }
    for k in ("reserved_bytes", "committed_bytes", "touched_bytes",
              "faulted_bytes"):
        sums[k] = sum(r[k] for r in regs)
    for k, v in sums.items():
        if t[k] != v:
            errs.append("totals.%s is %d, the regions sum to %d"
                        % (k, t[k], v))
    return errs


def region_at(rep, addr):
    for r in rep["regions"]:
        if int(r["start"], 16) == addr:
            return r
    raise Fail("no region starts at %#x; regions: %s" % (
        addr, ", ".join("%s-%s" % (r["start"], r["end"])
                        for r in rep["regions"])))


def compare_with_smaps(pid):
    """Report and smaps agree for every region, at rest. smaps is read
    before and after the report; a change in between (khugepaged, say)
    means the process was not at rest, and the round is taken again."""
    for attempt in range(3):
        before = read_smaps(pid)
        rep = report_json(pid)
        after = read_smaps(pid)
        if before == after:
            break
    else:
        raise Fail("pid %d never came to rest" % pid)

    errs = validate(rep, pid)
    regions = rep["regions"]
    for r in regions:
        if "incomplete" in r["flags"]:
            diag("region %s-%s is flagged incomplete: not compared"
                 % (r["start"], r["end"]))
            continue
        reserved, touched = truth(pid, r, regions, after)
        if (r["reserved_bytes"], r["touched_bytes"]) != (reserved, touched):
            errs.append("region %s-%s (%s): reserved %d touched %d, smaps "
                        "says reserved %d touched %d"
                        % (r["start"], r["end"], r["kind"],
                           r["reserved_bytes"], r["touched_bytes"],
                           reserved, touched))
    check(not errs, "\n".join(errs))
    return rep


# the tests -----------------------------------------------------------------

class State:
    work = None  # the watched workload
    lazy_addr = None
    full_addr = None
    low_addr = None


S = State()


def expect_region(r, pid, reserved, committed, touched, flags, lazy):
    want = {
        "kind": "mmap",
        "reserved_bytes": reserved,
        "committed_bytes": committed,
        "touched_bytes": touched,
        "faulted_bytes": touched,
        "creator_tid": pid,
        "creator_comm": WORKLOAD_COMM,
        "lazy": lazy,
    }
    errs = ["%s is %r, expected %r" % (k, r.get(k), v)
            for k, v in want.items() if r.get(k) != v]
    missing = set(flags) - set(r.get("flags", []))
    if missing:
        errs.append("flags %r lack %r" % (r.get("flags"), sorted(missing)))
    if r.get("peak_touched_bytes", 0) < touched:
        errs.append("peak_touched_bytes %r < %d"
                    % (r.get("peak_touched_bytes"), touched))
    # one thread did every fault
    threads = r.get("threads", [])
    if [(t.get("tid"), t.get("faulted_bytes")) for t in threads] != \
            [(pid, touched)]:
        errs.append("threads are %r, expected tid %d with %d bytes"
                    % (threads, pid, touched))
    check(not errs, "region %s-%s: %s" % (r.get("start"), r.get("end"),
                                          "; ".join(errs)))


def t_status():
    so = ctl_ok("status")
    check("module version" in so, "no module version in: %r" % so[:300])


def t_status_json():
    st = parse_json(ctl_ok("status", "--json"), "status", "status --json")
    check(st.get("protocol_version") == 1,
          "protocol_version is %r" % st.get("protocol_version"))
    check(isinstance(st.get("probes"), list) and st["probes"],
          "no probes: %r" % st.get("probes"))


def t_watch():
    S.work = Workload()
    ctl_ok("watch", S.work.pid)


def t_watch_again_is_error():
    rc, _, se = ctl("watch", S.work.pid)
    check(rc == 1, "exit %d, expected 1 (EEXIST)" % rc)
    check(len(se.strip().splitlines()) == 1, "stderr: %r" % se)
    ctl_ok("watch", S.work.pid, "--existing-ok")


def t_list():
    w = parse_json(ctl_ok("list", "--json"), "list", "list --json")
    pids = [x.get("pid") for x in w.get("watches", [])]
    check(S.work.pid in pids, "pid %d not in list: %r" % (S.work.pid, pids))


def t_list_matches_report():
    """list's figures for the workload, at rest, are the report's."""
    mine = parse_json(ctl_ok("list", "--json"), "list", "list --json")
    w = [x for x in mine["watches"] if x["pid"] == S.work.pid]
    check(len(w) == 1, "%d watches of pid %d" % (len(w), S.work.pid))
    w = w[0]
    rep = report_json(S.work.pid)
    t = rep["totals"]
    want = {"comm": WORKLOAD_COMM, "state": "live", "existing_ok": False,
            "regions": t["regions"], "reserved_bytes": t["reserved_bytes"],
            "committed_bytes": t["committed_bytes"],
            "faulted_bytes": t["faulted_bytes"]}
    errs = ["%s is %r, the report says %r" % (k, w[k], v)
            for k, v in want.items() if w[k] != v]
    if w["peak_touched_bytes"] < 64 * MIB:
        errs.append("peak_touched_bytes %d < the 64 MiB touched"
                    % w["peak_touched_bytes"])
    if w["watch_ns"] > rep["watch_ns"]:
        errs.append("list's watch_ns %d is after the report's %d"
                    % (w["watch_ns"], rep["watch_ns"]))
    check(not errs, "; ".join(errs))


def t_lazy_region():
    S.lazy_addr = S.work.cmd("lazy")
    rep = report_json(S.work.pid)
    errs = validate(rep, S.work.pid)
    check(not errs, "\n".join(errs))
    check(rep["comm"] == WORKLOAD_COMM, "comm is %r" % rep["comm"])
    expect_region(region_at(rep, S.lazy_addr), S.work.pid, 64 * MIB, MIB,
                  MIB, ["private", "noreserve"], True)


def t_lazy_matches_smaps():
    compare_with_smaps(S.work.pid)


def t_full_region():
    S.full_addr = S.work.cmd("full")
    rep = report_json(S.work.pid)
    errs = validate(rep, S.work.pid)
    check(not errs, "\n".join(errs))
    r = region_at(rep, S.full_addr)
    expect_region(r, S.work.pid, 64 * MIB, 64 * MIB, 64 * MIB, ["private"],
                  False)
    check("noreserve" not in r["flags"], "flags %r" % r["flags"])
    # and the lazy one is still there, unchanged
    expect_region(region_at(rep, S.lazy_addr), S.work.pid, 64 * MIB, MIB,
                  MIB, ["private", "noreserve"], True)
    peak = rep["totals"]["peak_touched_bytes"]
    check(peak >= rep["totals"]["touched_bytes"],
          "totals.peak_touched_bytes %d < touched %d"
          % (peak, rep["totals"]["touched_bytes"]))


def t_full_matches_smaps():
    compare_with_smaps(S.work.pid)


def t_thresholds():
    pid = S.work.pid
    rep = report_json(pid, "--min-size", "128M")
    errs = validate(rep, pid, min_size=128 * MIB)
    check(not errs, "\n".join(errs))
    check(not region_at(rep, S.lazy_addr)["lazy"],
          "a 64 MiB region is lazy with --min-size 128M")
    rep = report_json(pid, "--min-size", "64M", "--max-touched-pct", "100")
    errs = validate(rep, pid, min_size=64 * MIB, max_pct=100)
    check(not errs, "\n".join(errs))
    check(region_at(rep, S.full_addr)["lazy"],
          "a full 64 MiB region is not lazy with --max-touched-pct 100")
    rep = report_json(pid, "--min-size=1K", "--max-touched-pct=0")
    errs = validate(rep, pid, min_size=1024, max_pct=0)
    check(not errs, "\n".join(errs))


def row_of(lines, addr):
    prefix = "%#x-" % addr
    for i, line in enumerate(lines):
        if line.startswith(prefix):
            return i
    raise Fail("no table row for %#x" % addr)


def t_table():
    so = ctl_ok("report", S.work.pid)
    lines = so.splitlines()
    check(lines and lines[0].startswith("pid %d " % S.work.pid),
          "first line: %r" % lines[:1])
    check(", live, " in lines[0] and "exited" not in lines[0],
          "first line of a live process's report: %r" % lines[0])
    check(any(l.startswith("REGION") and "LAZY" in l for l in lines),
          "no header row")
    full, lazy = row_of(lines, S.full_addr), row_of(lines, S.lazy_addr)
    check(full < lazy, "the fully touched region is not listed first")
    check(" yes " in lines[lazy] and " no " in lines[full],
          "lazy marks: %r / %r" % (lines[lazy], lines[full]))
    check("64.0M" in lines[full] and "1.0M" in lines[lazy],
          "sizes: %r / %r" % (lines[full], lines[lazy]))
    rep = report_json(S.work.pid)
    total = [l for l in lines if l.startswith("total: ")]
    check(len(total) == 1 and total[0].startswith(
        "total: %d regions, %d lazy;" % (rep["totals"]["regions"],
                                         rep["totals"]["lazy_regions"])),
          "totals line: %r" % total)


def t_table_threads():
    so = ctl_ok("report", S.work.pid, "--threads")
    lines = so.splitlines()
    i = row_of(lines, S.lazy_addr)
    check(i + 1 < len(lines) and
          re.match(r"^\s+thread %d\s+%s\s+faulted\s+1\.0M$"
                   % (S.work.pid, WORKLOAD_COMM), lines[i + 1]),
          "no thread line under the lazy region: %r" % lines[i:i + 2])


# Where the low mapping may go: a 256 MiB step below 4 GiB, the first with
# no mapping within 64 MiB of it. Not a fixed address: from 6.9 on a
# non-PIE program's brk heap (python's) starts anywhere in its first GiB.
LOW_STEPS = range(0x10000000, 1 << 32, 0x10000000)
LOW_MARGIN = 64 * MIB
RANGE = re.compile(r"^0x([0-9a-f]+)-0x([0-9a-f]+)(?= )")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


def table(lines, first):
    """The heading that starts with @first and the rows under it, up to
    the first empty line."""
    for i, line in enumerate(lines):
        if line.startswith(first):
            rows = []
            for row in lines[i + 1:]:
                if not row.strip():
                    break
                rows.append(row)
            return line, rows
    raise Fail("no table headed %r in: %r" % (first, lines[:12]))


def check_columns(what, head, rows, columns):
    """Each row's cells stand under the heading's names: a left-aligned
    column ("L") starts where its name starts, a right-aligned one ("R")
    ends where its name ends (a compare cell may be followed by its '!').
    The addresses that start each row all have the same number of digits,
    and each row's range is a real one (start below end)."""
    errs, pos = [], 0
    spans = []
    for name, align in columns:
        at = head.find(name, pos)
        check(at >= 0, "%s: no %r in the heading %r" % (what, name, head))
        spans.append((name, align, at, at + len(name)))
        pos = at + len(name)
    digits = set()
    for row in rows:
        m = RANGE.match(row)
        if not m:
            errs.append("%s: a row does not start with an address range: %r"
                        % (what, row))
            continue
        digits.add((len(m.group(1)), len(m.group(2))))
        if int(m.group(1), 16) >= int(m.group(2), 16):
            errs.append("%s: range %s" % (what, m.group(0)))
        for name, align, start, end in spans:
            if align == "L":
                ok = (start < len(row) and row[start] != " " and
                      (start == 0 or row[start - 1] == " "))
            else:
                ok = (end <= len(row) and row[end - 1] != " " and
                      (end == len(row) or row[end] in " !"))
            if not ok:
                errs.append("%s: column %s is not under its heading in "
                            "%r (heading %r)" % (what, name, row, head))
    if len(digits) > 1:
        errs.append("%s: addresses of %s hex digits in one table:\n%s"
                    % (what, " and ".join("%d/%d" % d for d in digits),
                       "\n".join([head] + rows)))
    check(not errs, "\n".join(errs))


def addresses(rows):
    return {int(RANGE.match(r).group(1), 16) for r in rows}


def free_low_address(pid):
    """The first of LOW_STEPS with nothing mapped within LOW_MARGIN."""
    with open("/proc/%d/maps" % pid) as f:
        maps = [tuple(int(x, 16) for x in line.split()[0].split("-"))
                for line in f]
    for a in LOW_STEPS:
        lo, hi = a - LOW_MARGIN, a + 16 * MIB + LOW_MARGIN
        if all(end <= lo or start >= hi for start, end in maps):
            return a
    raise RuntimeError("no free 16 MiB below 4 GiB in pid %d" % pid)


def t_low_address():
    want = free_low_address(S.work.pid)
    S.low_addr = S.work.cmd("low %#x" % want)
    check(S.low_addr == want, "mapped at %#x, not %#x" % (S.low_addr, want))
    rep = compare_with_smaps(S.work.pid)
    r = region_at(rep, S.low_addr)
    check("fixed" in r["flags"] and r["touched_bytes"] == 16 * MIB,
          "the low region: %r" % r)


def t_report_columns():
    head, rows = table(ctl_ok("report", S.work.pid).splitlines(), "REGION")
    check_columns("report", head, rows,
                  [("REGION", "L"), ("KIND", "L"), ("RESERVED", "R"),
                   ("COMMITTED", "R"), ("TOUCHED", "R"), ("TOUCH%", "R"),
                   ("PEAK", "R"), ("FAULTED", "R"), ("LAZY", "R"),
                   ("CREATED", "R"), ("CREATOR", "L"), ("FLAGS", "L")])
    seen = addresses(rows)
    check({S.low_addr, S.full_addr, S.lazy_addr} <= seen,
          "rows for %#x, %#x and %#x in %s" % (S.low_addr, S.full_addr,
                                              S.lazy_addr, sorted(seen)))


def t_top_columns():
    so = ctl_ok("top", S.work.pid, "--count", "1")
    lines = [ANSI.sub("", l) for l in so.splitlines()]
    head, rows = table(lines, "LARGEST REGIONS")
    check_columns("top", head, rows,
                  [("LARGEST REGIONS", "L"), ("KIND", "L"),
                   ("RESERVED", "R"), ("COMMITTED", "R"), ("TOUCHED", "R"),
                   ("GROWTH", "R"), ("CREATOR", "L")])
    seen = addresses(rows)
    check({S.low_addr, S.full_addr} <= seen,
          "rows for %#x and %#x in %s" % (S.low_addr, S.full_addr,
                                         sorted(seen)))


def t_compare_columns():
    so = ctl_ok("compare", S.work.pid)
    head, rows = table(so.splitlines(), "REGION")
    check_columns("compare", head, rows,
                  [("REGION", "L"), ("KIND", "L"), ("RES mw", "R"),
                   ("smaps", "R"), ("COMM mw", "R"), ("smaps", "R"),
                   ("TOUCH mw", "R"), ("smaps", "R"), ("VMAS", "R")])
    seen = addresses(rows)
    check({S.low_addr, S.full_addr} <= seen,
          "rows for %#x and %#x in %s" % (S.low_addr, S.full_addr,
                                         sorted(seen)))


def t_exited_report():
    p = subprocess.Popen([sys.executable, "-c",
                          "import sys; sys.stdin.read()"],
                         stdin=subprocess.PIPE)
    try:
        ctl_ok("watch", p.pid)
    finally:
        p.stdin.close()
        p.wait(timeout=TIMEOUT)
    lines = ctl_ok("report", p.pid).splitlines()
    check(lines and lines[0].startswith("pid %d (" % p.pid) and
          " has exited" in lines[0],
          "first line of an exited process's report: %r" % lines[:1])
    check(any(l.startswith("total: ") for l in lines), "no totals line")
    # its final figures were given once
    rc, _, se = ctl("report", p.pid)
    check(rc == 1, "a second report of the exited pid: exit %d, %r"
          % (rc, se))


COMMANDS = ("status", "watch", "unwatch", "list", "report", "run", "events",
            "top", "record", "plot", "compare")


def t_no_arguments():
    rc, so, se = ctl()
    check(rc == 2, "memwatchctl alone: exit %d, expected 2" % rc)
    check(so == "", "memwatchctl alone wrote to stdout: %r" % so[:300])
    check(se.startswith("Usage: memwatchctl "), "stderr: %r" % se[:300])
    listed = [l.split()[0] for l in se.splitlines()
              if l.startswith("  ") and not l.startswith("   ")]
    missing = [c for c in COMMANDS if c not in listed]
    check(not missing, "commands not listed: %s in %r" % (missing, se))
    _, help_out, _ = ctl("--help")
    check(se == help_out, "not the --help text: %r" % se[:300])
    rc, so, _ = ctl("--debug")
    check(rc == 2 and so == "", "memwatchctl --debug alone: exit %d" % rc)


def usage_case(args):
    rc, so, se = ctl(*args)
    lines = se.strip().splitlines()
    check(rc == 2, "memwatchctl %s: exit %d, expected 2" % (" ".join(args),
                                                           rc))
    check(len(lines) == 1 and lines[0].startswith("memwatchctl: %s: "
                                                  % args[0]),
          "memwatchctl %s: stderr %r" % (" ".join(args), se))


def t_bad_pids():
    for pid in ("abc", "-5", "0", "99999999999", "12x"):
        usage_case(["report", pid])
    usage_case(["watch", "abc"])
    usage_case(["unwatch", "-5"])


def t_bad_options():
    pid = str(S.work.pid)
    usage_case(["report", pid, "--min-size", "12Q"])
    usage_case(["report", pid, "--max-touched-pct", "101"])
    usage_case(["report", pid, "--max-touched-pct", "-1"])
    usage_case(["report", pid, "--no-such-option"])
    usage_case(["report"])


def t_unknown_subcommand():
    rc, _, se = ctl("frobnicate")
    check(rc == 2, "exit %d, expected 2" % rc)
    check("Invalid subcommand" in se, "stderr: %r" % se[:200])


def t_unwatched_pid():
    rc, _, se = ctl("report", os.getpid())
    check(rc == 1, "exit %d, expected 1" % rc)
    check(len(se.strip().splitlines()) == 1, "stderr: %r" % se)


def free_pid():
    with open("/proc/sys/kernel/pid_max") as f:
        pid = int(f.read()) - 1
    while os.path.exists("/proc/%d" % pid):
        pid -= 1
    return pid


def t_nonexistent_pid():
    pid = free_pid()
    for args in (("report", pid), ("watch", pid)):
        rc, _, se = ctl(*args)
        check(rc == 1, "memwatchctl %s %d: exit %d, expected 1"
              % (args[0], pid, rc))
        check(len(se.strip().splitlines()) == 1, "stderr: %r" % se)


def t_unwatch():
    ctl_ok("unwatch", S.work.pid)
    rc, _, _ = ctl("report", S.work.pid)
    check(rc == 1, "report after unwatch: exit %d, expected 1" % rc)
    rc, _, _ = ctl("unwatch", S.work.pid)
    check(rc == 1, "second unwatch: exit %d, expected 1" % rc)


TESTS = [
    ("status exits 0", t_status),
    ("status --json reports protocol 1 and probes", t_status_json),
    ("watch a workload", t_watch),
    ("watching twice is exit 1, with --existing-ok exit 0",
     t_watch_again_is_error),
    ("list --json shows the watch", t_list),
    ("64 MiB PROT_NONE|MAP_NORESERVE reservation, 1 MiB touched, is lazy",
     t_lazy_region),
    ("every region matches smaps (lazy workload)", t_lazy_matches_smaps),
    ("64 MiB fully touched mapping is not lazy", t_full_region),
    ("every region matches smaps (both workloads)", t_full_matches_smaps),
    ("list --json agrees with the report", t_list_matches_report),
    ("--min-size and --max-touched-pct change the lazy flags", t_thresholds),
    ("report table: order, lazy marks, sizes, totals", t_table),
    ("report --threads lists the faulting thread", t_table_threads),
    ("a MAP_FIXED mapping below 4 GiB matches smaps", t_low_address),
    ("report table: columns under their headings, addresses of one width",
     t_report_columns),
    ("top: columns under their headings, addresses of one width",
     t_top_columns),
    ("compare: columns under their headings, addresses of one width",
     t_compare_columns),
    ("report of an exited process says so first, once", t_exited_report),
    ("memwatchctl alone lists the commands, exit 2", t_no_arguments),
    ("bad pids are usage errors (exit 2)", t_bad_pids),
    ("bad sizes, percentages and options are usage errors (exit 2)",
     t_bad_options),
    ("unknown subcommand is exit 2", t_unknown_subcommand),
    ("report of an unwatched pid is exit 1", t_unwatched_pid),
    ("report and watch of a nonexistent pid are exit 1", t_nonexistent_pid),
    ("unwatch ends the watch; again is exit 1", t_unwatch),
]


def stop_workload():
    if S.work:
        ctl("unwatch", S.work.pid)
        S.work.stop()


def main():
    global ZERO_PFN

    require_root_and_module()
    ZERO_PFN = zero_page_pfn()
    return run_tests(TESTS, stop_workload)

if __name__ == "__main__":
    sys.exit(main())
