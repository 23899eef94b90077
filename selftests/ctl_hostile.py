#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""memwatchctl treats its own inputs as hostile.

Bad pids, bad sizes, percentages and durations, a closed stdout, missing
and malformed capture files for `plot` (generated, and mutated from a real
capture when the module is loaded): memwatchctl must never die of a signal
other than SIGPIPE, must exit 1 (runtime error) or 2 (usage error) and say
on stderr what was wrong.

MEMWATCH_CTL names memwatchctl (default ../ctl/memwatchctl beside this
file); MEMWATCH_HOSTILE_SEED the mutation seed (printed). Output is TAP.
"""

import os
import random
import signal
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
CTL = os.environ.get("MEMWATCH_CTL") or os.path.join(HERE, "..", "ctl",
                                                     "memwatchctl")
SEED = int(os.environ.get("MEMWATCH_HOSTILE_SEED", "20261127"), 0)
TIMEOUT = 60

results = []


def run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE):
    return subprocess.run([CTL] + args, stdin=stdin, stdout=stdout,
                          stderr=subprocess.PIPE, timeout=TIMEOUT)


def problem(p, allowed, need_msg=True):
    """None if @p ended as a hostile input should make it end."""
    if p.returncode < 0:
        return "killed by signal %d" % -p.returncode
    if p.returncode not in allowed:
        return "exit %d, wanted %s" % (p.returncode, allowed)
    err = p.stderr.decode(errors="replace")
    if need_msg and p.returncode and not err.strip():
        return "exit %d with nothing on stderr" % p.returncode
    if "Sanitizer" in err or "runtime error:" in err:
        return "sanitizer report: " + err.strip().splitlines()[0]
    return None


def check(name, cases):
    """cases: [(args, allowed exits)]; one TAP line for all of them."""
    bad = []
    for args, allowed in cases:
        try:
            p = run(args)
        except subprocess.TimeoutExpired:
            bad.append("%s: still running after %ds" % (" ".join(args),
                                                        TIMEOUT))
            continue
        why = problem(p, allowed)
        if why:
            bad.append("%s: %s" % (" ".join(args), why))
    results.append((name, bad))


def plot_cases(tmp, files):
    cases = []
    out = os.path.join(tmp, "out.svg")
    for path in files:
        cases.append((["plot", path, "-o", out], (0, 1)))
    return cases


def malformed_captures(tmp):
    """Hand-made broken captures: each is one file."""
    contents = {
        "empty": b"",
        "newline": b"\n",
        "binary": bytes(range(256)) * 8,
        "nul": b"\0" * 4096,
        "not-json": b"this is not a capture\n",
        "truncated-object": b'{"timestamp_ns": 1, "elapsed_ns": ',
        "array": b"[1, 2, 3]\n",
        "string": b'"hello"\n',
        "null": b"null\n",
        "deep": b"[" * 100000 + b"]" * 100000 + b"\n",
        "huge-numbers": (b'{"timestamp_ns": 1e999, "elapsed_ns": '
                         b'99999999999999999999999999, "totals": {}}\n'),
        "negative": (b'{"timestamp_ns": -1, "elapsed_ns": -5, "totals": '
                     b'{"reserved_bytes": -1, "touched_bytes": -9e18}}\n'),
        "wrong-types": (b'{"timestamp_ns": "x", "elapsed_ns": [], '
                        b'"totals": "y", "regions": 5, "threads": {}}\n'),
        "long-line": b'{"x": "' + b"A" * (4 << 20) + b'"}\n',
        "bad-utf8": b'{"comm": "\xff\xfe\xc3", "elapsed_ns": 1}\n',
        "bad-escape": b'{"comm": "\\u12", "elapsed_ns": 1}\n',
    }
    files = []
    for name, data in contents.items():
        path = os.path.join(tmp, name + ".jsonl")
        with open(path, "wb") as f:
            f.write(data)
        files.append(path)
    files.append(os.path.join(tmp, "does-not-exist.jsonl"))
    files.append(tmp)                   # a directory
    files.append("/dev/null")
    return files


def real_capture(tmp):
    """A short real capture, or None without the module."""
    path = os.path.join(tmp, "real.jsonl")
    try:
        p = run(["record", "-o", path, "--interval", "50ms", "--duration",
                 "400ms", "--", "sleep", "1"])
    except subprocess.TimeoutExpired:
        return None
    if p.returncode or not os.path.exists(path) or \
            not os.path.getsize(path):
        return None
    with open(path, "rb") as f:
        return f.read()


def mutations(tmp, data, rng, n):
    """@n mutated copies of a real capture."""
    files = []
    for i in range(n):
        b = bytearray(data)
        how = rng.randrange(6)
        if how == 0:                    # truncated anywhere
            b = b[:rng.randrange(len(b))]
        elif how == 1:                  # bytes flipped
            for _ in range(rng.randrange(1, 16)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif how == 2:                  # a number made huge or negative
            digits = [j for j, c in enumerate(b) if 0x30 <= c <= 0x39]
            if digits:
                j = rng.choice(digits)
                b[j:j + 1] = rng.choice([b"-", b"99999999999999999999999",
                                         b"1e308", b"-1", b"0.5", b"NaN"])
        elif how == 3:                  # a chunk deleted
            j = rng.randrange(len(b))
            del b[j:j + rng.randrange(1, 200)]
        elif how == 4:                  # lines shuffled and duplicated
            lines = bytes(b).split(b"\n")
            lines += rng.sample(lines, min(len(lines), 3))
            rng.shuffle(lines)
            b = bytearray(b"\n".join(lines))
        else:                           # a field's value made a string
            j = bytes(b).find(b'_bytes": ')
            if j >= 0:
                b[j + 9:j + 9] = b'"x'
                k = bytes(b).find(b",", j + 11)
                if k > 0:
                    b[k:k] = b'"'
        path = os.path.join(tmp, "mut%03d.jsonl" % i)
        with open(path, "wb") as f:
            f.write(b)
        files.append(path)
    return files


def main():
    print("TAP version 13")
    if not os.access(CTL, os.X_OK):
        print("1..0 # SKIP %s is not built" % CTL)
        return 4
    print("# memwatchctl %s, seed %d (MEMWATCH_HOSTILE_SEED)" % (CTL, SEED))
    rng = random.Random(SEED)

    bad_pids = ["", "abc", "-1", "0", "-0", "+5", "1x", "0x10", "1e3",
                "4294967296", "99999999999999999999999",
                "2147483648", "\u0661", "2\n"]
    cases = []
    for pid in bad_pids:
        for cmd in ("watch", "unwatch", "report"):
            cases.append(([cmd, pid], (1, 2)))
        cases.append((["events", pid], (1, 2)))
    check("bad pids are refused with a message, never a crash", cases)

    bad_sizes = ["", "-1", "abc", "1Q", "1.5.3", "0x", "K",
                 "99999999999999999999999", "18446744073709551616",
                 "16E", "1KiBB", "nan", "inf"]
    cases = []
    for size in bad_sizes:
        cases.append((["report", "1", "--min-size", size], (1, 2)))
    for pct in ["", "-5", "101", "abc", "1e9", "nan", "50%%"]:
        cases.append((["report", "1", "--max-touched-pct", pct], (1, 2)))
    for d in ["", "-1s", "1x", "abc", "99999999999999999999h", "1e9d"]:
        for opt in ("--interval", "--duration"):
            cases.append((["record", "-o", "/dev/null", opt, d, "--",
                           "true"], (1, 2)))
    cases.append((["report", "1", "--format", "%" * 1000], (1, 2)))
    cases.append((["report", "1", "--format", ""], (1, 2)))
    check("bad sizes, percentages, durations and formats are refused",
          cases)

    cases = [([], (2,)), (["-d"], (2,)),
             (["nosuchcommand"], (2,)), (["report"], (2,)),
             (["watch", "1", "2", "3"], (2,)),
             (["--" + "x" * 5000], (2,)), (["plot"], (2,)),
             (["plot", "/dev/null"], (1, 2))]
    check("bad command lines are usage errors", cases)

    # stdout a pipe whose reader is gone: SIGPIPE or an error, no crash
    bad = []
    for args in (["--help"], ["status"], ["list"], ["help", "report"]):
        r, w = os.pipe()
        os.close(r)
        p = run(args, stdout=w)
        os.close(w)
        if p.returncode < 0 and p.returncode != -signal.SIGPIPE:
            bad.append("%s: killed by signal %d" % (args, -p.returncode))
    # and stdout closed outright
    for args in (["--help"], ["status"]):
        p = subprocess.run([CTL] + args, stdout=subprocess.DEVNULL,
                           stderr=subprocess.PIPE, timeout=TIMEOUT,
                           pass_fds=(), close_fds=True,
                           preexec_fn=lambda: os.close(1))
        if p.returncode < 0 and p.returncode != -signal.SIGPIPE:
            bad.append("%s, stdout closed: signal %d" % (args,
                                                          -p.returncode))
    results.append(("a closed stdout never crashes it", bad))

    with tempfile.TemporaryDirectory(prefix="mw-hostile-") as tmp:
        p = run(["plot", "-h"])
        if p.returncode != 0:
            results.append(("plot of malformed captures # SKIP no plot "
                             "command", []))
        else:
            check("plot refuses missing and malformed captures",
                  plot_cases(tmp, malformed_captures(tmp)))
            cases = [(["plot", "/dev/null", "-o", "/nonexistent/x.svg"],
                      (1, 2))]
            check("plot to an unwritable path is an error", cases)
            data = real_capture(tmp) if os.geteuid() == 0 else None
            if data:
                check("plot survives 60 mutations of a real capture",
                      plot_cases(tmp, mutations(tmp, data, rng, 60)))
            else:
                results.append(("plot of mutated captures # SKIP no "
                                "capture (module not loaded?)", []))

    print("1..%d" % len(results))
    failed = 0
    for i, (name, bad) in enumerate(results, 1):
        for b in bad[:20]:
            print("# " + b.replace("\n", "\\n"))
        if bad:
            failed += 1
            print("not ok %d - %s (%d cases)" % (i, name, len(bad)))
        else:
            print("ok %d - %s" % (i, name))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
