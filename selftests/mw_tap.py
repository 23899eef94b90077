# SPDX-License-Identifier: GPL-2.0
"""What the Python selftests share: TAP output, failures, and the path of
the memwatchctl under test (MEMWATCH_CTL, else ../ctl/memwatchctl beside
this file). Imported by the ctl_*.py tests; not a test itself."""

import os
import sys

KSFT_PASS, KSFT_FAIL, KSFT_SKIP = 0, 1, 4


def out(line=""):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def diag(msg):
    for line in str(msg).splitlines() or [""]:
        out("# " + line)


def skip_all(reason):
    out("TAP version 13")
    out("1..0 # SKIP " + reason)
    sys.exit(KSFT_SKIP)


class Fail(Exception):
    pass


class Skip(Exception):
    pass


def check(cond, msg):
    if not cond:
        raise Fail(msg)


def ctl_path():
    path = os.environ.get("MEMWATCH_CTL")
    if not path:
        here = os.path.dirname(os.path.abspath(__file__))
        path = os.path.join(here, "..", "ctl", "memwatchctl")
    return os.path.abspath(path)


CTL = ctl_path()


def require_root_and_module():
    """Skip the whole program (exit 4) unless run as root with memwatchctl
    built and the memwatch module loaded."""
    import subprocess
    if os.geteuid() != 0:
        skip_all("must be run as root")
    if not os.access(CTL, os.X_OK):
        skip_all("memwatchctl not found at %s: build it, or set MEMWATCH_CTL"
                 % CTL)
    st = subprocess.run([CTL, "status"], capture_output=True, text=True,
                        errors="replace", timeout=60)
    if st.returncode != 0 and "not loaded" in st.stderr:
        skip_all("the memwatch module is not loaded")


def run_tests(tests, cleanup=None):
    """Run (name, function) pairs as TAP tests: a Fail or any other
    exception is "not ok" with its message, a Skip is a skip. Returns the
    kselftest exit status."""
    import time
    out("TAP version 13")
    out("1..%d" % len(tests))
    failed = 0
    try:
        for n, (name, fn) in enumerate(tests, 1):
            t0 = time.time()
            try:
                fn()
                out("ok %d - %s # %.1fs" % (n, name, time.time() - t0))
            except Skip as e:
                out("ok %d - %s # SKIP %s" % (n, name, e))
            except Exception as e:  # a failure, or a broken workload
                if not isinstance(e, Fail):
                    e = "%s: %s" % (type(e).__name__, e)
                diag(e)
                out("not ok %d - %s" % (n, name))
                failed += 1
    finally:
        if cleanup:
            cleanup()
    out("# %d passed, %d failed" % (len(tests) - failed, failed))
    return KSFT_FAIL if failed else KSFT_PASS
