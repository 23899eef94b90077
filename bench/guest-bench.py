#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The `make bench` script, run inside one guest by selftests/qemu/run-vm.sh.

Fault and mapping paths: every round runs bench/mwbench once in each mode,
in an order that alternates from round to round:

  nomod     memwatch not loaded (the baseline)
  bpftrace  not loaded; bench/attrib.bt traces the process
  nowatch   loaded, nothing watched
  unwatched loaded, another process watched, this one not
  watched   loaded, this process watched (call stacks on: each mapping's
            creating stack, and a sample of one fault stack in 64)
  nostacks  loaded, this process watched with --no-stacks
  kp_unwatched, kp_watched, kp_nostacks
            the same three, loaded with hooks=kprobe (kprobes and
            kretprobes instead of ftrace direct calls)
  floor_kprobe, floor_optprobe, floor_fprobe
            memwatch not loaded; bench/floor's mwfloor.ko puts one empty
            hook of that mechanism on the new-anon rmap function: the
            least a hook of it adds to a fault (floor_fprobe where the
            kernel has the fprobe form mwfloor is built for)

and reports, per mode, the median over rounds of the ratio to that round's
baseline. Scale: bench/manyregions with 100,000 regions and 1,000 threads,
watched: the time to watch it, to fault in every region from all threads,
to report it; module memory per region; missed probe hits.

Output: a table, then one `bench: NAME VALUE` line per figure.

Environment: MEMWATCH_KO, MEMWATCH_CTL, MEMWATCH_REPO, MEMWATCH_KVER (from
run-vm.sh); MEMWATCH_BENCH_ROUNDS (default 5), MEMWATCH_BENCH_REGIONS
(100000), MEMWATCH_BENCH_THREADS (1000), MEMWATCH_BENCH_SKIP (what to
leave out, comma-separated: modes but nomod, "paths" or "scale").
"""

import json
import os
import re
import signal
import statistics
import subprocess
import sys
import time

KO = os.environ["MEMWATCH_KO"]
CTL = os.environ["MEMWATCH_CTL"]
REPO = os.environ["MEMWATCH_REPO"]
KVER = os.environ.get("MEMWATCH_KVER", os.uname().release)
ROUNDS = int(os.environ.get("MEMWATCH_BENCH_ROUNDS", "5"))
NREGIONS = int(os.environ.get("MEMWATCH_BENCH_REGIONS", "100000"))
NTHREADS = int(os.environ.get("MEMWATCH_BENCH_THREADS", "1000"))
SKIP = set(filter(None, os.environ.get("MEMWATCH_BENCH_SKIP", "").split(",")))

MWBENCH = os.path.join(REPO, "build/bench/mwbench")
MANYREGIONS = os.path.join(REPO, "build/bench/manyregions")
ATTRIB_BT = os.path.join(REPO, "bench/attrib.bt")
KPROBE_LIST = "/sys/kernel/debug/kprobes/list"
FLOOR_KO = os.path.join(REPO, f"build/{KVER}/bench/mwfloor.ko")

MODES = ["nomod", "bpftrace", "nowatch", "unwatched", "watched", "nostacks",
         "kp_unwatched", "kp_watched", "kp_nostacks",
         "floor_kprobe", "floor_optprobe", "floor_fprobe"]
# the hooks parameter each mode loads the module with; not loaded if absent
HOOKS = {"nowatch": "auto", "unwatched": "auto", "watched": "auto",
         "nostacks": "auto",
         "kp_unwatched": "kprobe", "kp_watched": "kprobe",
         "kp_nostacks": "kprobe"}
# the mechanism each floor mode loads mwfloor.ko with
FLOOR = {"floor_kprobe": "kprobe", "floor_optprobe": "optprobe",
         "floor_fprobe": "fprobe"}
FIGURES = ["fault1", "fault2", "map"]

if KVER.startswith("6.1."):
    SYMS = {"ADD_NEW_ANON_RMAP": "page_add_new_anon_rmap",
            "ALIGN_MUNMAP": "do_mas_align_munmap"}
else:
    SYMS = {"ADD_NEW_ANON_RMAP": "folio_add_new_anon_rmap",
            "ALIGN_MUNMAP": "do_vmi_align_munmap"}


def log(msg):
    print(f"# {msg}", flush=True)


def sh(*args, **kw):
    return subprocess.run(list(args), check=True, **kw)


def ctl(*args, quiet=True):
    out = subprocess.DEVNULL if quiet else subprocess.PIPE
    return subprocess.run([CTL, *map(str, args)], check=True, stdout=out,
                          text=True).stdout


def timed_ctl(*args):
    """(wall, user, system) seconds of one quiet memwatchctl command."""
    t0 = time.monotonic()
    proc = subprocess.Popen([CTL, *map(str, args)], stdout=subprocess.DEVNULL)
    _, status, ru = os.wait4(proc.pid, 0)
    wall = time.monotonic() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode:
        raise RuntimeError(f"memwatchctl {args}: exit {proc.returncode}")
    return wall, ru.ru_utime, ru.ru_stime


def loaded(name="memwatch"):
    with open("/proc/modules") as f:
        return any(line.split()[0] == name for line in f)


# Missed probe hits over every load of the module, read before each unload.
missed_hits = 0
loaded_hooks = None


def load(hooks):
    """Loaded with hooks=@hooks, or not loaded if @hooks is None."""
    global missed_hits, loaded_hooks
    if loaded() and loaded_hooks != hooks:
        missed_hits += missed(status())
        sh("rmmod", "memwatch")
    if hooks and not loaded():
        sh("insmod", KO, f"hooks={hooks}")
    loaded_hooks = hooks


def floor_hits():
    with open("/sys/module/mwfloor/parameters/hits") as f:
        return int(f.read())


def load_floor(mech):
    """mwfloor.ko loaded with mech=@mech, or not loaded if @mech is None.

    Its empty handler must have run in the mode before: a floor whose hook
    never fired would measure nothing.
    """
    if loaded("mwfloor"):
        if floor_hits() == 0:
            raise RuntimeError("mwfloor: the hook never fired")
        sh("rmmod", "mwfloor")
    if mech:
        sh("insmod", FLOOR_KO, f"mech={mech}",
           f"sym={SYMS['ADD_NEW_ANON_RMAP']}")


def floor_modes():
    """The floor modes this kernel can load, each tried once."""
    have = []
    for mode, mech in FLOOR.items():
        if mode in SKIP:
            continue
        r = subprocess.run(["insmod", FLOOR_KO, f"mech={mech}",
                            f"sym={SYMS['ADD_NEW_ANON_RMAP']}"],
                           stderr=subprocess.PIPE, text=True)
        if r.returncode:
            log(f"{mode}: left out: {r.stderr.strip()}")
            continue
        if mech == "optprobe":
            time.sleep(1)
            with open(KPROBE_LIST) as f:
                sym = SYMS["ADD_NEW_ANON_RMAP"]
                line = next((l for l in f if f" {sym}+" in l), "").strip()
            log(f"{mode}: {line}")
        sh("rmmod", "mwfloor")
        have.append(mode)
    return have


def readline(proc, what, timeout=600):
    """Next line of a child's stdout, or fail after @timeout seconds."""
    import select
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        if left <= 0 or not select.select([proc.stdout], [], [], left)[0]:
            raise RuntimeError(f"{what}: no output in {timeout}s")
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"{what}: exited ({proc.wait()})")
        return line.split()


def start_workload(argv, what):
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, text=True, bufsize=1)
    word, pid = readline(proc, what, 300)
    assert word == "ready", word
    return proc, int(pid)


def start_bpftrace(pid):
    """bpftrace running attrib.bt on @pid, once its probes are attached."""
    with open(ATTRIB_BT) as f:
        text = f.read()
    for k, v in SYMS.items():
        text = text.replace(f"@{k}@", v)
    path = "/tmp/attrib.bt"
    with open(path, "w") as f:
        f.write(text)
    out = open("/tmp/bpftrace.out", "w")
    t0 = time.monotonic()
    proc = subprocess.Popen(["bpftrace", path, str(pid)], stdout=out,
                            stderr=subprocess.STDOUT)
    want = [SYMS["ADD_NEW_ANON_RMAP"], "do_mmap", SYMS["ALIGN_MUNMAP"],
            "move_vma"]
    while True:
        if proc.poll() is not None:
            with open("/tmp/bpftrace.out") as f:
                sys.stderr.write(f.read())
            raise RuntimeError(f"bpftrace exited ({proc.returncode})")
        with open(KPROBE_LIST) as f:
            listed = f.read()
        with open("/tmp/bpftrace.out") as f:
            ready = "ready" in f.read()
        if ready and all(re.search(rf"\s{s}\+0x", listed) for s in want):
            break
        if time.monotonic() - t0 > 300:
            proc.kill()
            raise RuntimeError("bpftrace did not attach in 300s")
        time.sleep(0.5)
    log(f"bpftrace attached in {time.monotonic() - t0:.1f}s")
    return proc


def stop_bpftrace(proc):
    proc.send_signal(signal.SIGINT)
    try:
        proc.wait(120)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def run_mode(mode):
    """One mwbench run in @mode: {figure: ns}."""
    load(HOOKS.get(mode))
    load_floor(FLOOR.get(mode))
    # Let deferred work of the previous mode (exits, frees, RCU) finish:
    # under -icount whatever either CPU runs counts in the timings.
    time.sleep(2)
    other = tracer = None
    proc, pid = start_workload([MWBENCH, "-f", "32", "-m", "2000", "-r", "3"],
                               "mwbench")
    try:
        base = mode.removeprefix("kp_")
        if base == "unwatched":
            other = subprocess.Popen(["sleep", "3600"])
            ctl("watch", other.pid)
        elif base == "watched":
            ctl("watch", pid)
        elif base == "nostacks":
            ctl("watch", pid, "--no-stacks")
        elif mode == "bpftrace":
            tracer = start_bpftrace(pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        res = {}
        for _ in FIGURES:
            name, value = readline(proc, "mwbench")
            res[name] = float(value)
        proc.wait()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        if tracer:
            stop_bpftrace(tracer)
        if other:
            ctl("unwatch", other.pid)
            other.kill()
            other.wait()
        if mode.removeprefix("kp_") in ("watched", "nostacks"):
            ctl("unwatch", pid)
    return res


def status():
    return json.loads(ctl("status", "--json", quiet=False))


def missed(st):
    return sum(p["missed"] for p in st["probes"])


def fmt_ratio(r):
    return f"{r:.3f}"


def paths_bench():
    modes = [m for m in MODES if m not in SKIP and m not in FLOOR]
    modes += floor_modes()
    raw = {m: {f: [] for f in FIGURES} for m in modes}
    ratios = {m: {f: [] for f in FIGURES} for m in modes}
    added = {m: {f: [] for f in FIGURES} for m in modes}
    log("warm-up run (not counted)")
    run_mode("nomod")
    for rnd in range(ROUNDS):
        order = modes if rnd % 2 == 0 else modes[::-1]
        got = {}
        for m in order:
            got[m] = run_mode(m)
        log(f"round {rnd + 1}/{ROUNDS}: " + ", ".join(
            f"{m} {got[m]['fault1']:.0f}/{got[m]['fault2']:.0f}/"
            f"{got[m]['map']:.0f}" for m in order))
        for m in modes:
            for f in FIGURES:
                raw[m][f].append(got[m][f])
                ratios[m][f].append(got[m][f] / got["nomod"][f])
                added[m][f].append(got[m][f] - got["nomod"][f])
    load(None)
    load_floor(None)
    med = {m: {f: statistics.median(ratios[m][f]) for f in FIGURES}
           for m in modes}
    mraw = {m: {f: statistics.median(raw[m][f]) for f in FIGURES}
            for m in modes}
    madd = {m: {f: statistics.median(added[m][f]) for f in FIGURES}
            for m in modes}
    spread = {m: {f: (min(ratios[m][f]), max(ratios[m][f])) for f in FIGURES}
              for m in modes}
    return modes, med, mraw, madd, spread, missed_hits


def scale_bench():
    load("auto")
    with open("/proc/sys/vm/max_map_count", "w") as f:
        f.write(str(NREGIONS + 4 * NTHREADS + 65536))
    base_mem = status()["memory_bytes"]
    t0 = time.monotonic()
    proc, pid = start_workload([MANYREGIONS, "-n", str(NREGIONS),
                                "-t", str(NTHREADS)], "manyregions")
    log(f"manyregions: {NREGIONS} regions, {NTHREADS} threads set up in "
        f"{time.monotonic() - t0:.1f}s")
    res = {}
    try:
        res["watch_s"], _, res["watch_sys"] = timed_ctl("watch", pid)
        st = status()
        res["regions_watch"] = st["regions"]
        res["mem_watch"] = st["memory_bytes"] - base_mem
        proc.stdin.write("go\n")
        proc.stdin.flush()
        word, ns = readline(proc, "manyregions")
        res["touch_s"] = int(ns) / 1e9
        reports = sorted(timed_ctl("report", pid, "--json") for _ in range(3))
        res["report_s"], res["report_user"], res["report_sys"] = reports[1]
        res["table_s"], res["table_user"], res["table_sys"] = \
            timed_ctl("report", pid)
        rep = ctl("report", pid, "--json", quiet=False)
        res["report_regions"] = rep.count('"kind"')
        res["report_mb"] = len(rep) / 1e6
        res["report_threads"] = rep.count('"tid"')
        del rep
        st = status()
        res["regions"] = st["regions"]
        res["mem"] = st["memory_bytes"] - base_mem
        res["missed"] = missed(st)
        res["missed_by"] = {p["symbol"]: p["missed"] for p in st["probes"]
                            if p["missed"]}
        proc.stdin.write("exit\n")
        proc.stdin.flush()
        proc.wait(300)
        ctl("unwatch", pid)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    load(None)
    return res


def main():
    for p in (MWBENCH, MANYREGIONS):
        if not os.access(p, os.X_OK):
            sys.exit(f"guest-bench: {p} is missing: run make bench")
    load(None)
    log(f"kernel {KVER}, {os.cpu_count()} cpus, {ROUNDS} rounds")
    figures = []
    lines = []

    if "paths" not in SKIP:
        modes, med, mraw, madd, spread, missed_paths = paths_bench()
        lines.append("")
        lines.append(f"Fault and mapping paths, {KVER}: median over {ROUNDS} "
                     "rounds of the ratio to the same round's no-module run "
                     "(min-max in brackets); times are medians in guest ns")
        lines.append(f"{'mode':<14} {'fault 1 thread':>26} "
                     f"{'fault 2 threads':>26} {'mmap+mprotect+mremap+munmap':>30}")
        for m in modes:
            cols = []
            for f, w in (("fault1", 26), ("fault2", 26), ("map", 30)):
                lo, hi = spread[m][f]
                cols.append(f"{mraw[m][f]:7.0f} ns {med[m][f]:5.3f} "
                            f"[{lo:.2f}-{hi:.2f}]".rjust(w))
            lines.append(f"{m:<14} " + " ".join(cols))

        lines.append("Added guest ns (median over rounds of the difference to "
                     "the same round's no-module run)")
        lines.append(f"{'mode':<14} {'fault 1t':>9} {'fault 2t':>9} {'map':>9}")
        for m in modes[1:]:
            lines.append(f"{m:<14} " + " ".join(
                f"{madd[m][f]:9.0f}" for f in FIGURES))

        def fig(name, mode, f):
            if mode in med:
                figures.append((name, fmt_ratio(med[mode][f])))
                figures.append((name.replace("_ratio", "_added_ns"),
                                f"{madd[mode][f]:.0f}"))

        fig("fault_nowatch_ratio", "nowatch", "fault1")
        fig("fault_unwatched_ratio", "unwatched", "fault1")
        fig("fault_watched_ratio", "watched", "fault1")
        fig("fault_nostacks_ratio", "nostacks", "fault1")
        fig("fault_bpftrace_ratio", "bpftrace", "fault1")
        fig("fault_nowatch_2t_ratio", "nowatch", "fault2")
        fig("fault_unwatched_2t_ratio", "unwatched", "fault2")
        fig("fault_watched_2t_ratio", "watched", "fault2")
        fig("fault_bpftrace_2t_ratio", "bpftrace", "fault2")
        fig("map_nowatch_ratio", "nowatch", "map")
        fig("map_unwatched_ratio", "unwatched", "map")
        fig("map_watched_ratio", "watched", "map")
        fig("map_nostacks_ratio", "nostacks", "map")
        fig("map_bpftrace_ratio", "bpftrace", "map")
        fig("fault_kprobe_unwatched_ratio", "kp_unwatched", "fault1")
        fig("fault_kprobe_watched_ratio", "kp_watched", "fault1")
        fig("fault_kprobe_unwatched_2t_ratio", "kp_unwatched", "fault2")
        fig("fault_kprobe_watched_2t_ratio", "kp_watched", "fault2")
        fig("map_kprobe_unwatched_ratio", "kp_unwatched", "map")
        fig("map_kprobe_watched_ratio", "kp_watched", "map")
        fig("fault_kprobe_nostacks_ratio", "kp_nostacks", "fault1")
        fig("map_kprobe_nostacks_ratio", "kp_nostacks", "map")
        for mode in FLOOR:
            fig(f"fault_{mode}_ratio", mode, "fault1")
        for mode, name in (("watched", "fault_watched_over_bpftrace_overhead"),
                           ("nostacks",
                            "fault_nostacks_over_bpftrace_overhead"),
                           ("kp_watched",
                            "fault_kprobe_watched_over_bpftrace_overhead"),
                           ("kp_nostacks",
                            "fault_kprobe_nostacks_over_bpftrace_overhead")):
            if mode in med and "bpftrace" in med:
                w = med[mode]["fault1"] - 1
                b = med["bpftrace"]["fault1"] - 1
                figures.append((name, f"{w / b:.3f}" if b > 0 else "nan"))
        figures.append(("missed_hits_paths", str(missed_paths)))

    if "scale" not in SKIP:
        s = scale_bench()
        lines.append("")
        lines.append(f"Scale, {KVER}: {NREGIONS} one-page regions, "
                     f"{NTHREADS} threads (guest wall time)")
        lines.append(f"  watch (snapshot of existing regions)  {s['watch_s']:8.3f} s"
                     f"  (system {s['watch_sys']:.3f} s; "
                     f"{s['regions_watch']} regions)")
        lines.append(f"  fault every region from all threads   {s['touch_s']:8.3f} s")
        lines.append(f"  memwatchctl report --json (median/3)  {s['report_s']:8.3f} s"
                     f"  (user {s['report_user']:.3f} s, system "
                     f"{s['report_sys']:.3f} s; {s['report_regions']} regions, "
                     f"{s['report_threads']} thread entries, "
                     f"{s['report_mb']:.1f} MB)")
        lines.append(f"  memwatchctl report (table), once      {s['table_s']:8.3f} s"
                     f"  (user {s['table_user']:.3f} s, system "
                     f"{s['table_sys']:.3f} s)")
        bpr = s["mem"] / s["regions"] if s["regions"] else 0
        bpr_w = s["mem_watch"] / s["regions_watch"] if s["regions_watch"] else 0
        lines.append(f"  module memory                         {s['mem']:8d} B"
                     f"  ({bpr:.0f} B per region; {bpr_w:.0f} B per region "
                     "before the faults)")
        lines.append(f"  missed probe hits                     {s['missed']:8d}"
                     + (f"  {s['missed_by']}" if s["missed_by"] else ""))
        figures += [("watch_100k_seconds", f"{s['watch_s']:.3f}"),
                    ("touch_100k_seconds", f"{s['touch_s']:.3f}"),
                    ("report_100k_seconds", f"{s['report_s']:.3f}"),
                    ("report_100k_user_seconds", f"{s['report_user']:.3f}"),
                    ("report_100k_system_seconds", f"{s['report_sys']:.3f}"),
                    ("report_100k_table_seconds", f"{s['table_s']:.3f}"),
                    ("bytes_per_region", f"{bpr:.0f}"),
                    ("bytes_per_region_unfaulted", f"{bpr_w:.0f}"),
                    ("missed_hits", str(s["missed"]))]

    for line in lines:
        print(line)
    print()
    for name, value in figures:
        print(f"bench: {name} {value}")


if __name__ == "__main__":
    main()
