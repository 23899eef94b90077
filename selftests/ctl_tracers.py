#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""memwatch beside other tracers of the functions it hooks.

For a watched process memwatch runs do_mmap(), the munmap core, move_vma()
and mremap(2) from its own trampolines, past their ftrace sites. A kprobe
and a kretprobe on the same functions (bpftrace's, filtered on the
workload's pid) must still see every call return, exactly once each, and
the workload's own count of its mremap moves; memwatch's report must still
match what the workload mapped.

Needs root, the memwatch module and bpftrace; otherwise it skips (exit 4).
Set MEMWATCH_CTL to memwatchctl's path. Output is TAP.
"""

import os
import re
import select
import shutil
import subprocess
import sys
import time

from mw_tap import (CTL, Fail, check, diag, parse_json,
                    require_root_and_module, run_tests, Skip, wait_output)

TIMEOUT = 60
KPROBES = "/sys/kernel/debug/kprobes/list"
ROUNDS = 200
PAGE = os.sysconf("SC_PAGE_SIZE")

# ROUNDS times: map 16 pages, make half accessible, grow that half to 16
# pages (it must move: the other half is in the way), unmap both. Then
# maps 4 pages, grows them to 8 with MREMAP_MAYMOVE and keeps them. Prints
# "ready" before and the kept address after, each time waiting for a line.
WORK_PY = r"""
import ctypes, sys
libc = ctypes.CDLL(None, use_errno=True)
vp, sz = ctypes.c_void_p, ctypes.c_size_t
libc.mmap.restype = vp
libc.mmap.argtypes = [vp, sz, ctypes.c_int, ctypes.c_int, ctypes.c_int,
                      ctypes.c_long]
libc.mremap.restype = vp
libc.mremap.argtypes = [vp, sz, sz, ctypes.c_int]
libc.munmap.argtypes = [vp, sz]
libc.mprotect.argtypes = [vp, sz, ctypes.c_int]
PAGE, ROUNDS = %d, %d
RW, PRIV_ANON, NORESERVE, MAYMOVE = 3, 0x22, 0x4000, 1
FAIL = ctypes.c_void_p(-1).value

def check(ok, what):
    if not ok:
        sys.exit("%%s: errno %%d" %% (what, ctypes.get_errno()))

print("ready", flush=True)
sys.stdin.readline()
for i in range(ROUNDS):
    p = libc.mmap(None, 16 * PAGE, 0, PRIV_ANON | NORESERVE, -1, 0)
    check(p != FAIL, "mmap")
    check(libc.mprotect(p, 8 * PAGE, RW) == 0, "mprotect")
    q = libc.mremap(p, 8 * PAGE, 16 * PAGE, MAYMOVE)
    check(q not in (FAIL, p), "mremap")
    check(libc.munmap(q, 16 * PAGE) == 0, "munmap")
    check(libc.munmap(p + 8 * PAGE, 8 * PAGE) == 0, "munmap")
p = libc.mmap(None, 4 * PAGE, RW, PRIV_ANON, -1, 0)
check(p != FAIL, "mmap")
q = libc.mremap(p, 4 * PAGE, 8 * PAGE, MAYMOVE)
check(q != FAIL, "mremap")
print(q, flush=True)
sys.stdin.readline()
""" % (PAGE, ROUNDS)

# counts of entries (e) and returns (r) per function, for one pid
BT = r"""
kprobe:do_mmap /pid == $1/ { @e["do_mmap"] = count(); }
kretprobe:do_mmap /pid == $1/ { @r["do_mmap"] = count(); }
kprobe:%(munmap)s /pid == $1/ { @e["munmap"] = count(); }
kretprobe:%(munmap)s /pid == $1/ { @r["munmap"] = count(); }
kprobe:move_vma /pid == $1/ { @e["move_vma"] = count(); }
kretprobe:move_vma /pid == $1/ { @r["move_vma"] = count(); }
kprobe:__x64_sys_mremap /pid == $1/ { @e["mremap"] = count(); }
kretprobe:__x64_sys_mremap /pid == $1/ { @r["mremap"] = count(); }
"""


def ctl(*args):
    p = subprocess.run([CTL] + [str(a) for a in args], capture_output=True,
                       text=True, errors="replace", timeout=TIMEOUT)
    return p.returncode, p.stdout, p.stderr


def munmap_core():
    with open("/proc/kallsyms") as f:
        syms = f.read()
    for name in ("do_vmi_align_munmap", "do_mas_align_munmap", "__do_munmap"):
        if re.search(r" %s$" % name, syms, re.M):
            return name
    raise Skip("no munmap core in /proc/kallsyms")


def readline(f, what, timeout=TIMEOUT):
    end = time.time() + timeout
    while time.time() < end:
        if select.select([f], [], [], 1)[0]:
            line = f.readline()
            check(line, "%s ended" % what)
            return line.strip()
    raise AssertionError("%s: nothing within %d s" % (what, timeout))


def wait_attached(bt, funcs):
    """Until the kernel lists a kprobe and a kretprobe on each of @funcs:
    bpftrace's own output says so only once it exits."""
    end = time.time() + 2 * TIMEOUT
    while time.time() < end:
        if bt.poll() is not None:
            raise Fail("bpftrace exited: %s" % bt.stdout.read())
        with open(KPROBES) as f:
            listed = f.read()
        if all(re.search(r"\s%s\s+%s\+0x" % (t, fn), listed)
               for fn in funcs for t in "kr"):
            return
        time.sleep(0.5)
    try:
        with open("/proc/%d/stack" % bt.pid) as f:
            diag("bpftrace's kernel stack:\n" + f.read())
    except OSError:
        pass
    diag("kprobes listed:\n" + listed)
    bt.kill()
    diag("bpftrace said:\n" + bt.communicate()[0])
    raise Fail("bpftrace's probes not attached within %d s" % (2 * TIMEOUT))


def counts(text):
    """bpftrace's printed maps: {("e" or "r", function): count}."""
    got = {}
    for m in re.finditer(r"^@([er])\[(\w+)\]: (\d+)$", text, re.M):
        got[(m.group(1), m.group(2))] = int(m.group(3))
    return got


def t_kprobes_see_every_call_memwatch_runs():
    bpftrace = shutil.which("bpftrace")
    if not bpftrace:
        raise Skip("bpftrace is not installed")
    work = subprocess.Popen([sys.executable, "-c", WORK_PY],
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                            text=True)
    bt = None
    try:
        check(readline(work.stdout, "the workload") == "ready",
              "the workload did not start")
        rc, _, se = ctl("watch", work.pid)
        check(rc == 0, "watch %d: %s" % (work.pid, se.strip()))
        core = munmap_core()
        bt = subprocess.Popen([bpftrace, "-e", BT % {"munmap": core},
                               str(work.pid)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
        wait_attached(bt, ["do_mmap", core, "move_vma", "__x64_sys_mremap"])

        work.stdin.write("go\n")
        work.stdin.flush()
        kept = int(readline(work.stdout, "the workload"))
        bt.send_signal(2)
        text = wait_output(bt, 2 * TIMEOUT, "bpftrace, after SIGINT,", resend=2)
        got = counts(text)
        diag("bpftrace: " + ", ".join("%s %s %d" % (k[0], k[1], v)
                                      for k, v in sorted(got.items())))
        for fn in ("do_mmap", "munmap", "move_vma", "mremap"):
            e, r = got.get(("e", fn), 0), got.get(("r", fn), 0)
            check(e == r, "%s: %d calls but %d returns" % (fn, e, r))
        check(got.get(("e", "mremap"), 0) >= ROUNDS + 1,
              "mremap: %d calls seen, the workload made %d"
              % (got.get(("e", "mremap"), 0), ROUNDS + 1))
        check(got.get(("e", "move_vma"), 0) >= ROUNDS,
              "move_vma: %d calls seen, the workload moved %d times"
              % (got.get(("e", "move_vma"), 0), ROUNDS))
        check(got.get(("e", "munmap"), 0) >= 3 * ROUNDS,
              "munmap core: %d calls seen, the workload made at least %d"
              % (got.get(("e", "munmap"), 0), 3 * ROUNDS))

        rc, so, se = ctl("report", work.pid, "--json")
        check(rc == 0, "report: %s" % se.strip())
        regions = [r for r in parse_json(so, "report")["regions"]
                   if int(r["start"], 16) <= kept < int(r["end"], 16)]
        check(len(regions) == 1, "%d regions hold the kept mapping %#x"
              % (len(regions), kept))
        r = regions[0]
        check((int(r["start"], 16), int(r["end"], 16)) ==
              (kept, kept + 8 * PAGE),
              "the kept mapping %#x-%#x is region %s-%s"
              % (kept, kept + 8 * PAGE, r["start"], r["end"]))
        check(r["reserved_bytes"] == 8 * PAGE,
              "reserved %d, mapped %d" % (r["reserved_bytes"], 8 * PAGE))
        rc, so, _ = ctl("status", "--json")
        missed = {p["symbol"]: p["missed"]
                  for p in parse_json(so, "status")["probes"] if p["missed"]}
        check(not missed, "probe hits missed: %s" % missed)
    finally:
        if bt and bt.poll() is None:
            bt.kill()
            bt.wait()
        ctl("unwatch", work.pid)
        work.kill()
        work.wait()


TESTS = [
    ("kprobes_see_every_call_memwatch_runs",
     t_kprobes_see_every_call_memwatch_runs),
]


def main():
    require_root_and_module()
    return run_tests(TESTS)

if __name__ == "__main__":
    sys.exit(main())
