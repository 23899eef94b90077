#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""The JSON contract of memwatchctl holds together, without the module.

  * docs/memwatchctl.schema.json is a valid JSON Schema (draft 2020-12),
    every field in it says whether it is stable (x-stable) and what it
    means (description);
  * the man page memwatchctl-json(7) lists the same fields for each output,
    with the same stability, and the schema lists no field it does not;
  * the fields scripts rely on (the report object of memwatch's contract)
    are in the schema and stable;
  * the validator the other tests use accepts objects of each kind as
    memwatchctl writes them, and rejects each kind of break: a wrong type,
    a missing field, an unknown field, a bad address, a negative size, an
    unknown kind, a region event without its region.

The other ctl_*.py tests validate every JSON output of memwatchctl they
read against the schema with the same helper (mw_tap.validate_json).
Output is TAP.
"""

import copy
import os
import re
import sys

from mw_tap import (Fail, REPO, check, run_tests, schema, schema_errors,
                    schema_fields, validate_json)

MAN = os.path.join(REPO, "ctl", "memwatchctl-json.7")
KINDS = ("report", "run", "list", "status", "event", "sample", "compare")

# The report fields memwatch's contract promises scripts.
CONTRACT_REPORT = (
    "pid", "comm", "watch_ns", "totals", "totals.regions",
    "totals.lazy_regions", "totals.reserved_bytes", "totals.committed_bytes",
    "totals.touched_bytes", "totals.peak_touched_bytes",
    "totals.faulted_bytes", "regions", "regions[].start", "regions[].end",
    "regions[].kind", "regions[].flags", "regions[].reserved_bytes",
    "regions[].committed_bytes", "regions[].touched_bytes",
    "regions[].peak_touched_bytes", "regions[].faulted_bytes",
    "regions[].created_ns", "regions[].creator_tid",
    "regions[].creator_comm", "regions[].threads", "regions[].threads[].tid",
    "regions[].threads[].comm", "regions[].threads[].faulted_bytes",
    "regions[].lazy")

REGION = {
    "id": 3, "start": "0x7f3a2c000000", "end": "0x7f3a30000000",
    "kind": "mmap", "flags": ["private", "noreserve"],
    "reserved_bytes": 67108864, "committed_bytes": 1310720,
    "touched_bytes": 1052672, "peak_touched_bytes": 1052672,
    "faulted_bytes": 1052672, "created_ns": 812345678, "creator_tid": 4250,
    "creator_comm": "worker-3", "creator_latest_comm": "worker-3",
    "threads": [{"tid": 4250, "comm": "worker-3", "faulted_bytes": 1052672}],
    "extents": [{"start": "0x7f3a2c000000", "end": "0x7f3a30000000"}],
    "other_threads_faulted_bytes": 0, "lazy": True,
}
REPORT = {
    "pid": 4242, "comm": "java", "watch_ns": 5123456789, "state": "live",
    "lazy_min_size_bytes": 33554432, "lazy_max_touched_pct": 25,
    "totals": {"regions": 1, "lazy_regions": 1, "reserved_bytes": 67108864,
               "committed_bytes": 1310720, "touched_bytes": 1052672,
               "peak_touched_bytes": 1052672, "faulted_bytes": 1052672,
               "dropped_regions": 0},
    "regions": [REGION],
}
GOOD = {
    "report": REPORT,
    "run": {"processes": [REPORT, REPORT]},
    "list": {"watches": [{
        "pid": 4242, "comm": "java", "state": "exited", "watch_ns": 1,
        "existing_ok": False, "regions": 1, "reserved_bytes": 4096,
        "committed_bytes": 4096, "touched_bytes": 0,
        "peak_touched_bytes": 4096, "faulted_bytes": 4096, "execs": 0,
        "dropped_regions": 0, "dropped_events": 0}]},
    "status": {
        "module_version": "0.1.0", "protocol_version": 1,
        "kernel": "6.12.0-amd64", "watches": 0, "max_watches": 64,
        "regions": 0, "max_regions": 262144, "memory_bytes": 0,
        "probes": [{"symbol": "do_mmap", "attached": True, "error": 0,
                    "hits": 10, "missed": 0,
                    "mechanism": "direct"}]},
    "event": {"type": "region_new", "type_id": 1, "pid": 4242, "tid": 4250,
              "comm": "worker-3", "ns": 5, "region_id": 3,
              "start": "0x1000", "end": "0x3000", "size_bytes": 8192,
              "kind": "mmap", "flags": ["private"]},
    "sample": {
        "capture_version": 1, "timestamp_ns": 1764806400000000000,
        "elapsed_ns": 0, "pid": 4242, "comm": "java", "state": "live",
        "watch_ns": 1,
        "totals": {"regions": 1, "reserved_bytes": 4096,
                   "committed_bytes": 4096, "touched_bytes": 4096,
                   "peak_touched_bytes": 4096, "faulted_bytes": 4096},
        "regions": [{"id": 1, "start": "0x1000", "end": "0x2000",
                     "kind": "heap", "reserved_bytes": 4096,
                     "committed_bytes": 4096, "touched_bytes": 4096,
                     "faulted_bytes": 4096, "creator_tid": 4242,
                     "creator_comm": "java",
                     "creator_latest_comm": "java"}],
        "threads": [{"tid": 4242, "comm": "java", "faulted_bytes": 4096}]},
    "compare": {
        "pid": 4242, "looks": 1, "regions_compared": 1,
        "regions_differing": 0, "agrees": True,
        "regions": [{"id": 1, "start": "0x1000", "end": "0x2000",
                     "kind": "mmap",
                     "memwatch": {"reserved_bytes": 4096,
                                  "committed_bytes": 4096,
                                  "touched_bytes": 0},
                     "smaps": {"reserved_bytes": 4096,
                               "committed_bytes": 4096, "touched_bytes": 0},
                     "vmas": 1, "agrees": True}]},
}


def t_schema_is_valid():
    import jsonschema
    s = schema()
    jsonschema.Draft202012Validator.check_schema(s)
    check(set(KINDS) <= set(s["$defs"]),
          "definitions missing: %s" % sorted(set(KINDS) - set(s["$defs"])))
    errs = []
    for kind in KINDS:
        fields = schema_fields(kind)
        check(fields, "%s has no fields" % kind)
        for path, prop in fields:
            if not isinstance(prop.get("x-stable"), bool):
                errs.append("%s.%s: no x-stable" % (kind, path))
            if not prop.get("description"):
                errs.append("%s.%s: no description" % (kind, path))
    check(not errs, "\n".join(errs))


def man_fields():
    """{kind: [(path, stable)]} from the man page's field lists."""
    with open(MAN) as f:
        text = f.read()
    out, kind = {}, None
    for line in text.splitlines():
        m = re.match(r'^\.\\" schema: (\w+)$', line)
        if m:
            kind = m.group(1)
            out[kind] = []
            continue
        if line.startswith(".SH"):
            kind = None
        m = re.match(r'^\.BR (\S+) " \((.*)\)"$', line)
        if kind and m:
            path = m.group(1).replace("\\-", "-")
            out[kind].append((path, m.group(2).endswith("; stable")))
    return out


def t_man_page_matches_schema():
    man = man_fields()
    check(set(man) == set(KINDS), "the man page documents %s, not %s"
          % (sorted(man), sorted(KINDS)))
    errs = []
    for kind in KINDS:
        want = [(p, prop["x-stable"]) for p, prop in schema_fields(kind)]
        if man[kind] != want:
            errs.append("%s: the man page has %s\n  the schema has %s"
                        % (kind, sorted(set(man[kind]) - set(want)),
                           sorted(set(want) - set(man[kind]))))
    check(not errs, "\n".join(errs))


def t_contract_fields_are_stable():
    fields = dict(schema_fields("report"))
    missing = [p for p in CONTRACT_REPORT if p not in fields]
    unstable = [p for p in CONTRACT_REPORT
                if p in fields and not fields[p].get("x-stable")]
    check(not missing and not unstable, "contract fields missing %s, not "
          "stable %s" % (missing, unstable))


def t_good_objects_validate():
    for kind in KINDS:
        validate_json(kind, GOOD[kind], "the sample %s" % kind)
    fork = {"type": "fork", "type_id": 5, "pid": 2, "tid": 2, "comm": "sh",
            "ns": 9, "ppid": 1}
    validate_json("event", fork, "a fork event")
    validate_json("run", REPORT, "run without --follow-forks")


def broken(kind, change):
    obj = copy.deepcopy(GOOD[kind])
    change(obj)
    return obj


def t_broken_objects_fail():
    def setr(k, v):
        return lambda o: o["regions"][0].__setitem__(k, v)

    cases = [
        ("report", "a size as a string", setr("touched_bytes", "1052672")),
        ("report", "a negative size", setr("reserved_bytes", -1)),
        ("report", "a size past 64 bits", setr("faulted_bytes", 1 << 64)),
        ("report", "a boolean as an integer", setr("lazy", 1)),
        ("report", "an address as a number", setr("start", 0x7f3a2c000000)),
        ("report", "an address in upper case", setr("end", "0x7F3A30000000")),
        ("report", "an unknown kind", setr("kind", "file")),
        ("report", "an unknown flag", setr("flags", ["private", "locked"])),
        ("report", "a flag twice", setr("flags", ["private", "private"])),
        ("report", "a missing field", lambda o: o["totals"].pop("regions")),
        ("report", "an unknown field", lambda o: o.__setitem__("x", 1)),
        ("report", "a thread without tid",
         lambda o: o["regions"][0]["threads"][0].pop("tid")),
        ("report", "a percent past 100",
         lambda o: o.__setitem__("lazy_max_touched_pct", 101)),
        ("list", "a state the contract does not name",
         lambda o: o["watches"][0].__setitem__("state", "zombie")),
        ("status", "hits as a float",
         lambda o: o["probes"][0].__setitem__("hits", 1.5)),
        ("event", "a region event without its region",
         lambda o: o.pop("start")),
        ("event", "ppid on a region event",
         lambda o: o.__setitem__("ppid", 1)),
        ("sample", "capture version 2",
         lambda o: o.__setitem__("capture_version", 2)),
        ("compare", "smaps figures missing",
         lambda o: o["regions"][0].pop("smaps")),
        ("run", "an empty process list",
         lambda o: o.__setitem__("processes", [])),
    ]
    missed = []
    for kind, what, change in cases:
        if not schema_errors(kind, broken(kind, change)):
            missed.append("%s with %s passed" % (kind, what))
    try:
        validate_json("report", broken("report", setr("kind", 5)))
        missed.append("validate_json() did not fail")
    except Fail:
        pass
    check(not missed, "\n".join(missed))


TESTS = [
    ("the schema is valid draft 2020-12; every field has x-stable and a "
     "description", t_schema_is_valid),
    ("memwatchctl-json(7) lists the schema's fields and stability",
     t_man_page_matches_schema),
    ("the contract's report fields are in the schema and stable",
     t_contract_fields_are_stable),
    ("objects of every kind validate", t_good_objects_validate),
    ("broken objects of every kind fail validation", t_broken_objects_fail),
]


def main():
    return run_tests(TESTS)


if __name__ == "__main__":
    sys.exit(main())
