#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""memwatch's hooks beside BPF programs on the functions it hooks.

A kernel function takes one ftrace direct call. With hooks=auto, memwatch
must hook a function that a BPF fentry program (bpftrace's kfunc:) holds
already with a kprobe instead, say so in its status, and report exactly
what it reports otherwise; with hooks=kprobe it takes no direct call at
all, so a BPF fentry program attaches while memwatch watches. Both are
checked against smaps and the workload's own arithmetic (ctl_report.py's
workload and checks), and against bpftrace's own counts.

The tests unload and load the module (MEMWATCH_KO, and MEMWATCH_KO_PARAMS
as it was loaded); they leave it loaded as they found it. Needs root, the
module, bpftrace and the kernel's BTF; otherwise it skips (exit 4).
Output is TAP.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import time

import ctl_report as R
from mw_tap import (CTL, Fail, Skip, check, diag, require_root_and_module,
                    run_tests, wait_output)

TIMEOUT = 90
KO = os.environ.get("MEMWATCH_KO", "")
PARAMS = os.environ.get("MEMWATCH_KO_PARAMS", "").split()
TRACING = ("/sys/kernel/tracing", "/sys/kernel/debug/tracing")


# the module's tracepoint probes: tracepoints whatever the hooks parameter
TRACEPOINTS = {"sched_process_exec", "sched_process_fork", "task_rename",
               "mm_collapse_huge_page"}

def sh(*args, check_rc=True):
    p = subprocess.run([str(a) for a in args], capture_output=True,
                       text=True, errors="replace", timeout=TIMEOUT,
                       stdin=subprocess.DEVNULL)
    if check_rc:
        check(p.returncode == 0, "%s: exit %d: %s" % (
            " ".join(map(str, args)), p.returncode,
            (p.stderr or p.stdout).strip()))
    return p


def needs():
    if not shutil.which("bpftrace"):
        raise Skip("bpftrace is not installed")
    if not os.path.exists("/sys/kernel/btf/vmlinux"):
        raise Skip("the kernel has no BTF: no BPF fentry programs")
    if not os.access(KO, os.R_OK):
        raise Skip("MEMWATCH_KO does not name the module to load")


def page_fn():
    """The function that maps a newly faulted anonymous page."""
    with open("/proc/kallsyms") as f:
        syms = f.read()
    for name in ("folio_add_new_anon_rmap", "page_add_new_anon_rmap"):
        if re.search(r" %s$" % name, syms, re.M):
            return name
    raise Skip("no new-anon rmap function in /proc/kallsyms")


def rmmod():
    end = time.time() + TIMEOUT
    while os.path.isdir("/sys/module/memwatch"):
        p = sh("rmmod", "memwatch", check_rc=False)
        if p.returncode and time.time() > end:
            raise Fail("rmmod memwatch: %s" % p.stderr.strip())
        if p.returncode:
            time.sleep(0.5)


def insmod(*params):
    sh("insmod", KO, *params)


def restore():
    rmmod()
    insmod(*PARAMS)


def enabled_functions():
    for d in TRACING:
        try:
            with open(os.path.join(d, "enabled_functions")) as f:
                return f.read()
        except OSError:
            continue
    raise Skip("no tracefs enabled_functions")


def start_bpf(funcs, pid=None):
    """bpftrace counting calls of @funcs with fentry programs (kfunc:),
    once the kernel lists a direct call on each."""
    flt = " /pid == %d/" % pid if pid else ""
    prog = " ".join('kfunc:%s%s { @["%s"] = count(); }' % (f, flt, f)
                    for f in funcs)
    bt = subprocess.Popen(["bpftrace", "-e", prog], stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True)
    end = time.time() + 2 * TIMEOUT
    while time.time() < end:
        if bt.poll() is not None:
            raise Fail("bpftrace could not attach: %s"
                       % bt.stdout.read().strip())
        text = enabled_functions()
        # a direct call shows as "D" among the flags, with its trampoline
        if all(re.search(r"^%s \(\d+\).*(\bD\b|direct)" % f, text, re.M)
               for f in funcs):
            return bt
        time.sleep(0.5)
    bt.kill()
    raise Fail("bpftrace's fentry programs not attached within %d s:\n%s"
               % (2 * TIMEOUT, bt.communicate()[0]))


def fentry_works(funcs):
    """Skip unless bpftrace attaches fentry programs to @funcs here with
    memwatch unloaded (Debian's 6.1 refuses kfunc:do_mmap outright)."""
    try:
        bt = start_bpf(funcs)
    except Fail as e:
        raise Skip("no BPF fentry program attaches to %s on this kernel "
                   "even without memwatch: %s" % (", ".join(funcs), e))
    bt.kill()
    bt.wait()


def stop_bpf(bt):
    """bpftrace's counts, {function: calls}, after it printed them."""
    bt.send_signal(2)
    text = wait_output(bt, 2 * TIMEOUT, "bpftrace, after SIGINT,", resend=2)
    got = {m.group(1): int(m.group(2))
           for m in re.finditer(r'^@\["?(\w+)"?\]: (\d+)$', text, re.M)}
    diag("bpftrace: %s" % ", ".join("%s %d" % kv for kv in sorted(got.items())))
    return got


def mechanisms():
    rep = json.loads(R.ctl_ok("status", "--json"))
    return {p["symbol"]: p for p in rep["probes"]}


def exact(work):
    """The workload's two 64 MiB regions, as it made and filled them, and
    every region equal to smaps."""
    R.S.lazy_addr = work.cmd("lazy")
    R.S.full_addr = work.cmd("full")
    rep = R.report_json(work.pid)
    errs = R.validate(rep, work.pid)
    check(not errs, "\n".join(errs))
    R.expect_region(R.region_at(rep, R.S.lazy_addr), work.pid, 64 * R.MIB,
                    R.MIB, R.MIB, ["private", "noreserve"], True)
    R.expect_region(R.region_at(rep, R.S.full_addr), work.pid, 64 * R.MIB,
                    64 * R.MIB, 64 * R.MIB, ["private"], False)
    R.compare_with_smaps(work.pid)


def t_auto_falls_back_beside_fentry():
    needs()
    page = page_fn()
    bt = work = None
    rmmod()
    try:
        fentry_works(["do_mmap", page])
        bt = start_bpf(["do_mmap", page])
        insmod("hooks=auto")
        probes = mechanisms()
        errs = []
        for sym, p in probes.items():
            want = {"do_mmap": "kretprobe", page: "kprobe"}.get(sym)
            if sym in TRACEPOINTS:
                want = "tracepoint"
            if not p["attached"]:
                errs.append("%s is not attached (error %d)"
                            % (sym, p["error"]))
            elif want and p["mechanism"] != want:
                errs.append("%s: %s, not %s" % (sym, p["mechanism"], want))
            elif not want and p["mechanism"] != "direct":
                errs.append("%s: %s, not direct" % (sym, p["mechanism"]))
        check(not errs, "; ".join(errs))
        work = R.Workload()
        R.ctl_ok("watch", work.pid)
        exact(work)
        got = stop_bpf(bt)
        bt = None
        for f in ("do_mmap", page):
            check(got.get(f, 0) > 0, "the fentry program on %s stopped" % f)
        missed = sum(p["missed"] for p in mechanisms().values())
        check(missed == 0, "%d probe hits missed" % missed)
    finally:
        if bt:
            bt.kill()
            bt.wait()
        if work:
            work.stop()
        restore()


def t_kprobe_mode_leaves_fentry_free():
    needs()
    bt = work = None
    rmmod()
    try:
        fentry_works(["do_mmap"])
        insmod("hooks=kprobe")
        probes = mechanisms()
        direct = [s for s, p in probes.items() if p["mechanism"] == "direct"]
        check(not direct, "direct calls with hooks=kprobe: %s" % direct)
        check(all(p["attached"] for p in probes.values()),
              "not attached: %s" % [s for s, p in probes.items()
                                    if not p["attached"]])
        work = R.Workload()
        R.ctl_ok("watch", work.pid)
        bt = start_bpf(["do_mmap"], pid=work.pid)
        exact(work)
        got = stop_bpf(bt)
        bt = None
        # the workload's lazy and full regions: two anonymous mmaps
        check(got.get("do_mmap", 0) >= 2,
              "the fentry program saw %d of the workload's 2 or more mmaps"
              % got.get("do_mmap", 0))
    finally:
        if bt:
            bt.kill()
            bt.wait()
        if work:
            work.stop()
        restore()


def t_bad_hooks_refused():
    needs()
    rmmod()
    try:
        p = sh("insmod", KO, "hooks=fast", check_rc=False)
        check(p.returncode != 0, "insmod hooks=fast succeeded")
        check(not os.path.isdir("/sys/module/memwatch"),
              "memwatch is loaded after insmod hooks=fast")
        log = sh("dmesg").stdout
        check("hooks=fast: must be auto, direct or kprobe" in log,
              "no kernel message names the valid values")
    finally:
        restore()


TESTS = [
    ("auto_falls_back_to_kprobes_beside_fentry_programs",
     t_auto_falls_back_beside_fentry),
    ("kprobe_mode_leaves_functions_to_fentry_programs",
     t_kprobe_mode_leaves_fentry_free),
    ("unknown_hooks_value_fails_the_load", t_bad_hooks_refused),
]


def main():
    require_root_and_module()
    R.ZERO_PFN = R.zero_page_pfn()
    R.S.work = None
    return run_tests(TESTS)


if __name__ == "__main__":
    sys.exit(main())
