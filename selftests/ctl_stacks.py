#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Call stacks: the code that made and filled each region, as memwatchctl
report --stacks and --by-stack show it, against the addresses the workload
took of its own functions.

The workload (mw_stackprog, built -O2 -fomit-frame-pointer, and
libmwstack.so) is started by memwatchctl run, so the report is read after
it exited, and its library was dlclose()d before that: every frame is named
from the files, by the code maps the module logged.

  * make_region_here(), called by outer(), called by main(), mmaps: the
    region's stack holds the three, in that order;
  * a thread's first malloc() makes its glibc arena by mmap deep in libc
    (no frame pointers): the arena's stack reaches the thread's function
    through libc's frames;
  * fill_here() writes a region with memset(): its sampled filling stacks
    hold fill_here;
  * two callers of fill_here() write the two halves of a region at the same
    stack pointer, so memset()'s faults under both come at the same program
    counter and stack pointer: each half is credited to its own caller's
    stacks (a sample repeating one is found by those two registers and the
    words where the other had code, and a return address differs);
  * a function of a dlopen()ed, then dlclose()d library makes a region: the
    report names it and its library;
  * --by-stack sums each creating stack's regions, and the workload's own
    sizes agree; run --no-stacks takes none;
  * events --json --stacks gives region_new events their stack, and
    record's regions the same stack ids, each stack written once.

A frame is right when its symbol is the function's name and its address
less its offset is where the workload said the function starts.

Needs root and the memwatch module; otherwise it skips (exit 4). Set
MEMWATCH_CTL to memwatchctl's path. Output is TAP.
"""

import os
import shutil
import subprocess
import sys
import tempfile
import time

from mw_tap import (CTL, check, diag, parse_json, require_root_and_module,
                    run_tests, Skip, validate_json)

MIB = 1 << 20
TIMEOUT = 120
HERE = os.path.dirname(os.path.abspath(__file__))
TMP = tempfile.mkdtemp(prefix="mwstacks.")

_runs = {}


def ctl(*args):
    p = subprocess.run([CTL] + [str(a) for a in args], capture_output=True,
                       text=True, errors="replace", timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout, p.stderr


def prog():
    path = os.path.join(HERE, "mw_stackprog")
    if not os.access(path, os.X_OK) or \
       not os.path.exists(os.path.join(HERE, "libmwstack.so")):
        raise Skip("mw_stackprog is not built (make -C selftests)")
    return path


def workload(*opts):
    """Run mw_stackprog under memwatchctl run OPTS; the JSON report, the
    table and what the workload noted, once per set of options."""
    if opts in _runs:
        return _runs[opts]
    name = "run%d" % len(_runs)
    notes = os.path.join(TMP, name + ".notes")
    path = os.path.join(TMP, name + ".json")
    rc, so, se = ctl("run", *opts, "-o", path, "--", prog(), notes)
    check(rc == 0, "run %s exited %d: %s" % (" ".join(opts), rc, se.strip()))
    with open(path) as f:
        rep = parse_json(f.read(), "report", "the report run -o wrote")
    validate_json("report", rep, "run -o's report")
    noted = {}
    with open(notes) as f:
        for line in f:
            k, v = line.split()
            noted[k] = int(v, 16)
    _runs[opts] = (rep, so, noted)
    return _runs[opts]


def region_with(rep, addr):
    for r in rep["regions"]:
        for e in r["extents"]:
            if int(e["start"], 16) <= addr < int(e["end"], 16):
                return r
    check(False, "no region holds 0x%x" % addr)
    return None


def show(frames):
    return " <- ".join("%s+0x%x (%s)" % (f["symbol"], f["offset"],
                                         os.path.basename(f["module"]))
                       for f in frames)


def frame_of(frames, name, noted):
    """The index of the frame of function NAME, checked against where the
    workload said NAME starts; -1 if none."""
    for i, f in enumerate(frames):
        if f["symbol"] == name:
            start = int(f["addr"], 16) - f["offset"]
            check(start == noted[name],
                  "frame %d names %s but starts at 0x%x, not 0x%x: %s" %
                  (i, name, start, noted[name], show(frames)))
            return i
    return -1


def need_in_order(frames, names, noted, what):
    at = [frame_of(frames, n, noted) for n in names]
    check(all(i >= 0 for i in at),
          "%s: the stack lacks %s: %s" %
          (what, [n for n, i in zip(names, at) if i < 0], show(frames)))
    check(at == sorted(at), "%s: %s not in that order: %s" %
          (what, names, show(frames)))
    return at


def creating_frames(r, what):
    check("stack" in r, "%s has no creating stack: %s" % (what, r))
    return r["stack"]["frames"]


def t_created_without_frame_pointers():
    rep, _, noted = workload("--stacks")
    r = region_with(rep, noted["region"])
    check(r["reserved_bytes"] == 4 * MIB, "region of %d bytes" %
          r["reserved_bytes"])
    frames = creating_frames(r, "make_region_here()'s region")
    need_in_order(frames, ["make_region_here", "outer", "main"], noted,
                  "make_region_here()'s region")
    diag("created at: " + show(frames))


def t_arena_through_libc():
    rep, _, noted = workload("--stacks")
    r = region_with(rep, noted["arena"])
    frames = creating_frames(r, "the thread's arena")
    at = need_in_order(frames, ["arena_thread"], noted, "the arena")
    libc = [f for f in frames[:at[0]]
            if os.path.basename(f["module"]).startswith("libc.so")]
    check(libc, "no libc frame below arena_thread: %s" % show(frames))
    diag("arena created at: " + show(frames))


def t_filled_by_sampled_faults():
    rep, _, noted = workload("--stacks")
    r = region_with(rep, noted["fill_region"])
    check(r["faulted_bytes"] == 2 * MIB, "faulted %d, not 2 MiB" %
          r["faulted_bytes"])
    fills = r.get("fill_stacks", [])
    check(fills, "the filled region has no filling stack: %s" % r)
    hits = [f for f in fills
            if frame_of(f["stack"]["frames"], "fill_here", noted) >= 0]
    check(hits, "no filling stack holds fill_here: %s" %
          [show(f["stack"]["frames"]) for f in fills])
    total = sum(f["faulted_bytes"] for f in fills) + r["fill_other_bytes"]
    check(0 < total <= r["faulted_bytes"],
          "filling stacks stand for %d bytes of %d faulted" %
          (total, r["faulted_bytes"]))
    # One code path filled it all: its samples are one stack, which stands
    # for all but the faults after the last sample (fewer than fill_every,
    # 64 pages of the 512).
    mine = sum(f["faulted_bytes"] for f in hits)
    check(mine >= r["faulted_bytes"] * 3 // 4,
          "fill_here's stacks stand for %d bytes of %d faulted: %s" %
          (mine, r["faulted_bytes"],
           [(f["faulted_bytes"], show(f["stack"]["frames"])) for f in fills]))
    diag("filled by (%d bytes): %s" % (hits[0]["faulted_bytes"],
                                       show(hits[0]["stack"]["frames"])))


def t_same_place_other_caller():
    rep, _, noted = workload("--stacks")
    check(noted["twin_sp_a"] == noted["twin_sp_b"],
          "the twins called fill_here() at stack pointers 0x%x and 0x%x: "
          "this case needs them equal" %
          (noted["twin_sp_a"], noted["twin_sp_b"]))
    r = region_with(rep, noted["twin_region"])
    check(r["faulted_bytes"] == 2 * MIB, "faulted %d, not 2 MiB" %
          r["faulted_bytes"])
    fills = r.get("fill_stacks", [])
    got = {}
    for name in ("twin_fill_a", "twin_fill_b"):
        got[name] = sum(f["faulted_bytes"] for f in fills
                        if frame_of(f["stack"]["frames"], name, noted) >= 0)
    # Each wrote 1 MiB, 256 faults: its samples stand for them, give or
    # take the faults between the samples around the switch (fewer than
    # fill_every, 64, on either side).
    for name, got_bytes in got.items():
        check(MIB // 2 <= got_bytes <= 3 * MIB // 2,
              "%s wrote 1 MiB, its stacks stand for %d bytes: %s" %
              (name, got_bytes, [(f["faulted_bytes"],
                                  show(f["stack"]["frames"]))
                                 for f in fills]))
    diag("twin_fill_a %d bytes, twin_fill_b %d bytes" %
         (got["twin_fill_a"], got["twin_fill_b"]))


def t_dlclosed_library_named():
    rep, _, noted = workload("--stacks")
    r = region_with(rep, noted["lib_region"])
    frames = creating_frames(r, "the library's region")
    at = need_in_order(frames, ["mw_lib_make_region", "main"], noted,
                       "the library's region")
    mod = frames[at[0]]["module"]
    check(mod.endswith("/libmwstack.so"), "module %s" % mod)
    check(frames[at[0]]["build_id"], "no build id for %s" % mod)


def t_by_stack_sums():
    rep, so, noted = workload("--stacks", "--by-stack")
    groups = rep.get("by_stack")
    check(groups, "no by_stack in the report")
    outer = [g for g in groups if "stack" in g and
             frame_of(g["stack"]["frames"], "outer", noted) >= 0]
    check(len(outer) == 1, "%d by-stack entries through outer()" %
          len(outer))
    check(outer[0]["regions"] == 1 and
          outer[0]["reserved_bytes"] == 4 * MIB,
          "outer()'s entry: %d regions, %d bytes, not 1 of 4 MiB" %
          (outer[0]["regions"], outer[0]["reserved_bytes"]))
    check(sum(g["regions"] for g in groups) == len(rep["regions"]),
          "by_stack covers %d regions of %d" %
          (sum(g["regions"] for g in groups), len(rep["regions"])))
    check(sum(g["reserved_bytes"] for g in groups) ==
          rep["totals"]["reserved_bytes"], "by_stack's reserved bytes "
          "do not add up to the total")
    check(rep.get("by_fill_stack"), "no by_fill_stack in the report")
    check("created at:" in so and "make_region_here+0x" in so,
          "the table shows no creating stack")


def t_events_and_record_carry_stacks():
    notes = os.path.join(TMP, "ev.notes")
    cap = os.path.join(TMP, "ev.jsonl")
    ev = subprocess.Popen([CTL, "events", "--json", "--stacks"],
                          stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                          text=True)
    rec = None
    try:
        time.sleep(1)   # subscribed before the workload starts
        rec = subprocess.Popen([CTL, "record", "--interval", "50ms", "-o",
                                cap, "--", prog(), notes, "wait"],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
        end = time.time() + TIMEOUT
        while time.time() < end:
            if os.path.exists(notes) and \
               "mw_lib_make_region" in open(notes).read():
                break
            time.sleep(0.2)
        time.sleep(2)   # the events are read and the recorder samples
        rec.stdin.close()
        rec.wait(timeout=TIMEOUT)
        check(rec.returncode == 0, "record: %s" % rec.stderr.read())
    finally:
        if rec and rec.poll() is None:
            rec.kill()
        ev.send_signal(2)
        so = ev.communicate(timeout=TIMEOUT)[0]
    noted = {}
    with open(notes) as f:
        for line in f:
            k, v = line.split()
            noted[k] = int(v, 16)
    events = [parse_json(line, "event", "an events --json line")
              for line in so.splitlines() if line.strip()]
    for e in events:
        validate_json("event", e, "events --json --stacks")
    mine = [e for e in events if e["type"] == "region_new" and
            int(e["start"], 16) == noted["region"]]
    check(len(mine) == 1, "%d region_new events at 0x%x" %
          (len(mine), noted["region"]))
    check("stack" in mine[0], "the event has no stack: %s" % mine[0])
    need_in_order(mine[0]["stack"]["frames"],
                  ["make_region_here", "outer", "main"], noted,
                  "the event's stack")
    with open(cap) as f:
        samples = [parse_json(line, "sample", "a record line")
                   for line in f if line.strip()]
    for s in samples:
        validate_json("sample", s, "a record line")
    last = samples[-1]
    regs = [r for r in last["regions"]
            if int(r["start"], 16) == noted["region"]]
    check(regs, "the last sample has no region at 0x%x" % noted["region"])
    check(regs[0].get("stack_id") == mine[0]["stack_id"],
          "record's stack_id %s, the event's %s" %
          (regs[0].get("stack_id"), mine[0]["stack_id"]))
    # the capture writes that stack once, in some sample
    written = [s for sample in samples for s in sample.get("stacks", [])
               if s["stack_id"] == mine[0]["stack_id"]]
    check(len(written) == 1, "the capture wrote stack %d %d times" %
          (mine[0]["stack_id"], len(written)))
    need_in_order(written[0]["stack"]["frames"],
                  ["make_region_here", "outer", "main"], noted,
                  "the capture's stack")


def t_max_frames():
    rep, _, noted = workload("--stacks", "--max-frames", "2")
    r = region_with(rep, noted["region"])
    frames = creating_frames(r, "make_region_here()'s region")
    check(len(frames) == 2 and r["stack"]["truncated"],
          "--max-frames 2: %d frames, truncated %s" %
          (len(frames), r["stack"]["truncated"]))
    check(frame_of(frames, "make_region_here", noted) == 1,
          "the second frame is not make_region_here: %s" % show(frames))
    for bad in ("0", "1025", "x"):
        rc, _, se = ctl("report", "1", "--stacks", "--max-frames", bad)
        check(rc == 2 and len(se.strip().splitlines()) == 1,
              "--max-frames %s: exit %d, %r" % (bad, rc, se))


def t_no_stacks():
    rep, so, noted = workload("--no-stacks", "--stacks")
    r = region_with(rep, noted["region"])
    check("stack" not in r, "--no-stacks, yet a stack: %s" % r)
    check(not r.get("fill_stacks"), "--no-stacks, yet filling stacks")


TESTS = [
    ("creating_stack_without_frame_pointers", t_created_without_frame_pointers),
    ("arena_stack_reaches_the_thread_through_libc", t_arena_through_libc),
    ("filling_stacks_name_the_writer", t_filled_by_sampled_faults),
    ("same_place_other_caller_is_another_stack", t_same_place_other_caller),
    ("dlclosed_library_is_still_named", t_dlclosed_library_named),
    ("by_stack_sums_agree_with_the_regions", t_by_stack_sums),
    ("events_and_record_carry_stack_ids", t_events_and_record_carry_stacks),
    ("max_frames_cuts_the_walk", t_max_frames),
    ("no_stacks_takes_none", t_no_stacks),
]


def main():
    require_root_and_module()
    return run_tests(TESTS, lambda: shutil.rmtree(TMP, ignore_errors=True))


if __name__ == "__main__":
    sys.exit(main())
