#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""End-to-end tests of memwatchctl run, events, record, plot, compare, top
and report --format openmetrics, on real workloads, against the module's
own report and /proc/PID/smaps.

  * run: a static program (scripts/first-mmap.c) whose very first system
    call after exec is an anonymous mmap; its region is in the report, and run exits with the
    program's status (128+N when signal N killed it);
  * run --follow-forks reports the children too;
  * events --json: every line is a JSON object, and the workload's region
    appears as a region_new event;
  * record then plot: JSON lines that parse, and an SVG that parses as
    XML, has lines drawn, and renders to a picture that is not blank
    (when rsvg-convert is installed);
  * compare exits 0 on a process at rest, and compare --json says the
    same with the workload's own figures;
  * report --format openmetrics parses with Prometheus's own OpenMetrics
    parser (python3-prometheus-client) and its figures equal the JSON
    report's;
  * top on a pseudo-terminal draws the view, quits on 'q' and restores
    the terminal settings.

Every JSON output read here is checked against the schema
(docs/memwatchctl.schema.json) first.

Needs root and the memwatch module; otherwise it skips (exit 4). Set
MEMWATCH_CTL to memwatchctl's path. Output is TAP.
"""

import os
import pty
import re
import select
import shutil
import struct
import subprocess
import sys
import tempfile
import termios
import time
import xml.etree.ElementTree as ET
import zlib

from mw_tap import (CTL, Fail, check, diag, parse_json,
                    require_root_and_module, run_tests, Skip, validate_json)

MIB = 1 << 20
TIMEOUT = 60

# Maps 64 MiB, touches 16 MiB of it in steps, names itself, then waits
# for stdin to close (or, with "exit" as its argument, exits a second
# later: a sampler must see it all touched before the interpreter's exit
# unmaps it).
GROW_PY = r"""
import ctypes, mmap, sys, time
libc = ctypes.CDLL(None)
libc.prctl(15, b"mwgrow", 0, 0, 0)
m = mmap.mmap(-1, 64 << 20, flags=mmap.MAP_PRIVATE)
for i in range(16):
    m[i << 20:(i << 20) + 1] = b"x"
    for k in range(0, 1 << 20, 4096):
        m[(i << 20) + k] = 1
    time.sleep(0.02)
print("ready", flush=True)
if sys.argv[1:] == ["exit"]:
    time.sleep(1)
else:
    sys.stdin.read()
"""


TMP = tempfile.mkdtemp(prefix="mwtools.")


def ctl(*args, stdin=subprocess.DEVNULL):
    p = subprocess.run([CTL] + [str(a) for a in args], capture_output=True,
                       text=True, errors="replace", timeout=TIMEOUT,
                       stdin=stdin)
    return p.returncode, p.stdout, p.stderr


def first_mmap_prog():
    """scripts/first-mmap.c, as make check-build builds it (or built here)."""
    repo = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    built = os.path.join(repo, "build", "first-mmap")
    if os.access(built, os.X_OK):
        return built
    path = os.path.join(TMP, "first-mmap")
    if os.path.exists(path):
        return path
    cc = shutil.which("gcc") or shutil.which("cc")
    if not cc or os.uname().machine != "x86_64":
        raise Skip("needs build/first-mmap, or gcc on x86-64")
    subprocess.run([cc, "-O1", "-static", "-nostdlib", "-fno-stack-protector",
                    "-o", path, os.path.join(repo, "scripts", "first-mmap.c")],
                   check=True, timeout=TIMEOUT)
    return path


class Grow:
    """The GROW_PY workload, watched, at rest once it said "ready"."""

    def __init__(self):
        self.p = subprocess.Popen([sys.executable, "-c", GROW_PY],
                                  stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, text=True)
        self.pid = self.p.pid
        rc, _, se = ctl("watch", self.pid)
        check(rc == 0, "watch %d: %s" % (self.pid, se.strip()))
        check(self.p.stdout.readline().strip() == "ready",
              "the workload did not start")

    def stop(self):
        ctl("unwatch", self.pid)
        try:
            self.p.stdin.close()
            self.p.wait(timeout=30)
        except Exception:
            self.p.kill()
            self.p.wait()


# --- run ------------------------------------------------------------------

def t_run_first_mmap():
    prog = first_mmap_prog()
    path = os.path.join(TMP, "run.json")
    rc, so, se = ctl("run", "-o", path, "--", prog)
    check(rc == 7, "run exited %d, not the program's 7: %s" % (rc, se))
    m = re.search(r"0x[0-9a-f]{16}", se)
    check(m, "the program did not say its address: %r" % se)
    addr = int(m.group(0), 16)
    with open(path) as f:
        rep = parse_json(f.read(), "run", "the report run -o wrote")
    validate_json("report", rep, "run -o's report")
    regions = [r for r in rep["regions"] if int(r["start"], 16) == addr]
    check(regions, "no region at 0x%x, the first mmap after exec; "
          "regions: %s" % (addr, [r["start"] for r in rep["regions"]]))
    r = regions[0]
    check(r["kind"] == "mmap", "kind %s" % r["kind"])
    check(r["reserved_bytes"] == 16 * 4096,
          "reserved %d, not 64K" % r["reserved_bytes"])
    check(r["faulted_bytes"] == 3 * 4096,
          "faulted %d, not 3 pages" % r["faulted_bytes"])
    check(r["creator_tid"] == rep["pid"], "creator %d" % r["creator_tid"])
    check("%x" % addr in so, "the table on stdout lacks the region")


def t_run_exit_status_of_signal():
    rc, _, se = ctl("run", "--", "sh", "-c", "kill -TERM $$")
    check(rc == 128 + 15, "run exited %d, not 143: %s" % (rc, se))


def t_run_forwards_sigterm():
    p = subprocess.Popen([CTL, "run", "--json", "--", "sleep", "30"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                         text=True)
    time.sleep(1.0)
    p.terminate()
    so, se = p.communicate(timeout=TIMEOUT)
    check(p.returncode == 128 + 15, "exit %d: %s" % (p.returncode, se))
    rep = parse_json(so, "run", "run --json")
    validate_json("report", rep, "run --json")
    check(rep["state"] == "exited", "state %s" % rep["state"])


def t_run_bad_command():
    rc, _, se = ctl("run", "--", "/nonexistent/program")
    check(rc == 1, "exit %d" % rc)
    check(se.startswith("memwatchctl: run: ") and se.count("\n") == 1,
          "not one line: %r" % se)
    rc, _, se = ctl("run")
    check(rc == 2, "run without a command: exit %d" % rc)


def t_run_follow_forks():
    rc, so, se = ctl("run", "--follow-forks", "--json", "--",
                     "sh", "-c", "/bin/true; /bin/true; exit 3")
    if rc == 1 and "does not support" in se:
        raise Skip("the module has no follow-forks")
    check(rc == 3, "exit %d: %s" % (rc, se))
    procs = parse_json(so, "run", "run --follow-forks --json")["processes"]
    comms = [p["comm"] for p in procs]
    check(len(procs) == 3, "%d processes reported, not 3: %s"
          % (len(procs), comms))
    check(comms.count("true") == 2, "children: %s" % comms)


# --- events ---------------------------------------------------------------

def t_events_json():
    prog = first_mmap_prog()
    ev = subprocess.Popen([CTL, "events", "--json"], stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, text=True)
    try:
        time.sleep(1.0)  # subscribed
        rc, _, se = ctl("run", "--", prog)
        check(rc == 7, "run: %d %s" % (rc, se))
        addr = int(re.search(r"0x[0-9a-f]{16}", se).group(0), 16)
        time.sleep(1.0)  # the events worker sends shortly after
    finally:
        ev.terminate()
    so, se = ev.communicate(timeout=TIMEOUT)
    check(ev.returncode == 0, "events exited %d: %s" % (ev.returncode, se))
    lines = so.splitlines()
    check(lines, "no events")
    events = [parse_json(line, "event", "the events --json line %r" % line)
              for line in lines]
    new = [e for e in events if e["type"] == "region_new"
           and int(e["start"], 16) == addr]
    check(new, "no region_new at 0x%x among %d events" % (addr, len(events)))
    check(new[0]["size_bytes"] == 16 * 4096, "size %s" % new[0])
    check(any(e["type"] == "exit" and e["pid"] == new[0]["pid"]
              for e in events), "no exit event")


# --- record and plot ------------------------------------------------------

def png_is_blank(path):
    """True if every pixel of a PNG has the same bytes."""
    with open(path, "rb") as f:
        data = f.read()
    check(data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG")
    pos, idat, width = 8, b"", 0
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        body = data[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            width = struct.unpack(">I", body[:4])[0]
        elif kind == b"IDAT":
            idat += body
        pos += 12 + length
    raw = zlib.decompress(idat)
    check(width > 0 and raw, "no image data")
    # skip each row's filter byte: distinct pixel bytes other than 0
    return len(set(raw[1:width * 4])) <= 1 and len(set(raw)) <= 2


def t_record_plot():
    cap = os.path.join(TMP, "cap.jsonl")
    rc, _, se = ctl("record", "--interval", "50ms", "-o", cap, "--",
                    sys.executable, "-c", GROW_PY, "exit")
    check(rc == 0, "record exited %d: %s" % (rc, se))
    with open(cap) as f:
        samples = [parse_json(line, "sample", "capture line %d" % n)
                   for n, line in enumerate(f, 1)]
    check(len(samples) >= 3, "%d samples" % len(samples))
    for s in samples:
        for k in ("timestamp_ns", "elapsed_ns", "pid", "totals", "regions",
                  "threads"):
            check(k in s, "a sample lacks %s" % k)
        check(s["totals"]["reserved_bytes"] ==
              sum(r["reserved_bytes"] for r in s["regions"]),
              "totals are not the sum of the regions")
    el = [s["elapsed_ns"] for s in samples]
    check(el == sorted(el), "elapsed_ns goes backwards")
    peak = max(s["totals"]["touched_bytes"] for s in samples)
    check(peak >= 16 * MIB, "touched peaked at %d, not 16M" % peak)
    # (the last sample may come after the interpreter unmapped it)
    top = max((t for s in samples for t in s["threads"]),
              key=lambda t: t["faulted_bytes"])
    check(top["faulted_bytes"] >= 16 * MIB and top["comm"],
          "the thread that faulted most: %s" % top)

    svg = os.path.join(TMP, "growth.svg")
    rc, _, se = ctl("plot", cap, "-o", svg)
    check(rc == 0, "plot exited %d: %s" % (rc, se))
    root = ET.parse(svg).getroot()
    check(root.tag.endswith("svg"), "root is %s" % root.tag)
    lines = [e for e in root.iter() if e.tag.endswith("polyline")]
    check(len(lines) >= 3, "%d lines drawn" % len(lines))
    text = " ".join(e.text or "" for e in root.iter()
                    if e.tag.endswith("text"))
    check("reserved" in text and top["comm"] in text,
          "labels: %r" % text[:300])

    rsvg = shutil.which("rsvg-convert")
    if rsvg:
        png = os.path.join(TMP, "growth.png")
        subprocess.run([rsvg, "-o", png, svg], check=True, timeout=TIMEOUT)
        check(not png_is_blank(png), "the rendered plot is blank")
    else:
        diag("rsvg-convert not installed: the SVG was not rendered")

    bad = os.path.join(TMP, "bad.jsonl")
    with open(bad, "w") as f:
        f.write(open(cap).readline() + '{"elapsed_ns": [\n')
    rc, _, se = ctl("plot", bad, "-o", os.path.join(TMP, "bad.svg"))
    check(rc == 1 and ":2:" in se and se.count("\n") == 1,
          "malformed capture: exit %d, %r" % (rc, se))


# --- compare and openmetrics ---------------------------------------------

def t_compare_at_rest():
    w = Grow()
    try:
        rc, so, se = ctl("compare", w.pid)
        check(rc == 0, "compare exited %d: %s\n%s" % (rc, se, so))
        check("0 differ" in so, "summary: %r" % so[-200:])
        rep = parse_json(ctl("report", w.pid, "--json")[1], "report")
        big = [r for r in rep["regions"] if r["reserved_bytes"] == 64 * MIB]
        check(big, "no 64M region")
        row = [ln for ln in so.splitlines() if ln.startswith(big[0]["start"])]
        check(row and "64.0M" in row[0] and row[0].endswith("ok"),
              "the 64M region's row: %r" % row)
    finally:
        w.stop()


def t_compare_json():
    w = Grow()
    try:
        rc, so, se = ctl("compare", w.pid, "--json")
        check(rc == 0, "compare --json exited %d: %s" % (rc, se))
        cmp = parse_json(so, "compare", "compare --json")
        check(cmp["pid"] == w.pid and cmp["agrees"] and
              cmp["regions_differing"] == 0 and 1 <= cmp["looks"] <= 3,
              "summary: %s" % {k: v for k, v in cmp.items()
                               if k != "regions"})
        check(cmp["regions_compared"] == len(cmp["regions"]),
              "%d regions compared, %d listed"
              % (cmp["regions_compared"], len(cmp["regions"])))
        bad = [r for r in cmp["regions"]
               if not r["agrees"] or r["memwatch"] != r["smaps"]]
        check(not bad, "regions that differ: %s" % bad[:3])
        # the workload's own arithmetic: 64 MiB mapped read-write, 16 MiB
        # of it written (more resident if huge pages came in)
        big = [r for r in cmp["regions"]
               if r["smaps"]["reserved_bytes"] == 64 * MIB]
        check(len(big) == 1, "%d regions of 64M" % len(big))
        check(big[0]["smaps"]["committed_bytes"] == 64 * MIB and
              big[0]["smaps"]["touched_bytes"] >= 16 * MIB and
              big[0]["vmas"] >= 1,
              "the 64M region: %s" % big[0])
    finally:
        w.stop()


def parse_openmetrics(text):
    """Families by name, as Prometheus's own OpenMetrics parser reads them:
    {name: (type, unit, [(sample name, labels, value)])}."""
    try:
        from prometheus_client.openmetrics.parser import \
            text_string_to_metric_families
    except ImportError:
        raise Fail("python3-prometheus-client is not installed "
                   "(scripts/setup.sh installs it)")
    try:
        return {f.name: (f.type, f.unit,
                         [(s.name, s.labels, s.value) for s in f.samples])
                for f in text_string_to_metric_families(text)}
    except ValueError as e:
        raise Fail("not valid OpenMetrics: %s\n%s" % (e, text[:600]))


def t_openmetrics():
    w = Grow()
    try:
        rc, so, se = ctl("report", w.pid, "--format", "openmetrics")
        check(rc == 0, "exit %d: %s" % (rc, se))
        fams = parse_openmetrics(so)
        rep = parse_json(ctl("report", w.pid, "--json")[1], "report")
        for key in ("reserved_bytes", "committed_bytes", "touched_bytes"):
            typ, unit, s = fams["memwatch_" + key]
            check(typ == "gauge" and unit == "bytes", "%s: %s, unit %r"
                  % (key, typ, unit))
            check(len(s) == 1 and s[0][2] == rep["totals"][key],
                  "%s: %s vs %d" % (key, s, rep["totals"][key]))
            check(s[0][1] == {"pid": str(w.pid), "comm": "mwgrow"},
                  "labels %s" % s[0][1])
        typ, unit, s = fams["memwatch_regions"]
        check(s[0][2] == rep["totals"]["regions"], "regions: %s" % s)
        big = [s for s in fams["memwatch_region_reserved_bytes"][2]
               if s[2] == 64 * MIB]
        check(len(big) == 1, "the 64M region is %d series" % len(big))
        reg = [r for r in rep["regions"] if r["start"] == big[0][1]["start"]]
        check(reg and reg[0]["reserved_bytes"] == 64 * MIB and
              big[0][1]["kind"] == reg[0]["kind"] and
              big[0][1]["lazy"] == str(reg[0]["lazy"]).lower(),
              "the 64M region's labels: %s; in the report: %s"
              % (big[0][1], reg[:1]))
        typ, unit, s = fams.get("memwatch_faulted_bytes", (None, None, []))
        check(typ == "counter" and unit == "bytes" and
              s[0][0] == "memwatch_faulted_bytes_total" and
              s[0][2] == rep["totals"]["faulted_bytes"],
              "faulted: %s %s %s" % (typ, unit, s))
        # node_exporter's textfile collector reads the Prometheus text
        # format, to which "# UNIT" and "# EOF" are comments
        from prometheus_client.parser import text_string_to_metric_families
        try:
            text = {f.name: f for f in text_string_to_metric_families(so)}
        except ValueError as e:
            raise Fail("not valid Prometheus text: %s" % e)
        g = text.get("memwatch_touched_bytes")
        check(g is not None and g.type == "gauge" and
              [x.value for x in g.samples] == [rep["totals"]["touched_bytes"]],
              "as Prometheus text, memwatch_touched_bytes is %s"
              % (g and g.samples))
    finally:
        w.stop()


# --- top ------------------------------------------------------------------

def t_top_quits_and_restores():
    w = Grow()
    master, slave = pty.openpty()
    try:
        before = termios.tcgetattr(slave)
        p = subprocess.Popen([CTL, "top", str(w.pid), "--interval", "200ms"],
                             stdin=slave, stdout=slave, stderr=slave,
                             start_new_session=True)
        buf = b""
        end = time.time() + 20
        while time.time() < end and b"THREADS GROWING" not in buf:
            r, _, _ = select.select([master], [], [], 0.5)
            if r:
                buf += os.read(master, 65536)
        check(b"LARGEST REGIONS" in buf and b"THREADS GROWING" in buf,
              "no view drawn: %r" % buf[-300:])
        check(b"mwgrow" in buf, "the thread is not named")
        os.write(master, b"q")
        p.wait(timeout=20)
        check(p.returncode == 0, "top exited %d" % p.returncode)
        after = termios.tcgetattr(slave)
        check(after[3] == before[3], "local modes not restored: %o vs %o"
              % (after[3], before[3]))
    finally:
        os.close(master)
        os.close(slave)
        w.stop()


TESTS = [
    ("run_captures_first_mmap_after_exec", t_run_first_mmap),
    ("run_exit_status_of_a_signal", t_run_exit_status_of_signal),
    ("run_forwards_sigterm", t_run_forwards_sigterm),
    ("run_bad_command_one_line_exit_1", t_run_bad_command),
    ("run_follow_forks_reports_children", t_run_follow_forks),
    ("events_json_lines_include_the_region", t_events_json),
    ("record_then_plot_valid_svg", t_record_plot),
    ("compare_at_rest_exits_0", t_compare_at_rest),
    ("compare_json_agrees_with_smaps_and_the_workload", t_compare_json),
    ("report_openmetrics_parses", t_openmetrics),
    ("top_quits_on_q_and_restores_terminal", t_top_quits_and_restores),
]


def main():
    require_root_and_module()
    return run_tests(TESTS,
                     lambda: shutil.rmtree(TMP, ignore_errors=True))

if __name__ == "__main__":
    sys.exit(main())
