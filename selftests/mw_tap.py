# SPDX-License-Identifier: GPL-2.0
"""What the Python selftests share: TAP output, failures, the path of
the memwatchctl under test (MEMWATCH_CTL, else ../ctl/memwatchctl beside
this file), and the check of its JSON against the project's schema
(docs/memwatchctl.schema.json, with python3-jsonschema). Imported by the
ctl_*.py tests; not a test itself."""

import json
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


def wait_output(proc, timeout, what, resend=None):
    """proc.communicate(timeout=): its stdout. With @resend, a signal sent
    again every 10 s while it runs (bpftrace ignores a SIGINT that comes
    before its handler is in place, while it is still attaching). If it
    does not end in time, fail saying where each of its threads waits in
    the kernel (their /proc stacks), what it printed so far, and kill
    it."""
    import subprocess
    import time
    end = time.monotonic() + timeout
    while True:
        left = end - time.monotonic()
        try:
            return proc.communicate(timeout=max(0.1, min(10, left) if resend
                                                else left))[0]
        except subprocess.TimeoutExpired:
            if resend and time.monotonic() < end:
                proc.send_signal(resend)
                continue
        where = []
        task = "/proc/%d/task" % proc.pid
        for tid in sorted(os.listdir(task)) if os.path.isdir(task) else []:
            try:
                with open("%s/%s/stat" % (task, tid)) as f:
                    state = f.read().rsplit(")", 1)[1].split()[0]
                with open("%s/%s/stack" % (task, tid)) as f:
                    stack = f.read().strip().replace("\n", " <- ")
            except OSError as e:
                state, stack = "?", str(e)
            where.append("%s %s: %s" % (tid, state, stack))
        proc.kill()
        try:
            text = proc.communicate(timeout=30)[0]
        except subprocess.TimeoutExpired:
            text = "(nothing: it did not die within 30 s of SIGKILL)"
        raise Fail("%s did not end within %d s; its threads wait at:\n%s\n"
                   "it printed:\n%s" % (what, timeout, "\n".join(where),
                                         text))


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

REPO = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                    ".."))
SCHEMA_PATH = os.path.join(REPO, "docs", "memwatchctl.schema.json")
_schema = None
_validators = {}


def schema():
    """The schema of memwatchctl's JSON output, as loaded from the repo."""
    global _schema
    if _schema is None:
        with open(SCHEMA_PATH) as f:
            _schema = json.load(f)
    return _schema


def _inline(node, defs):
    """A subschema with its "$ref"s to definitions replaced by their
    content (the schema has no cycles) and annotations dropped: the same
    checks, and ten times faster with jsonschema 4.10, which resolves
    each "$ref" anew for every value (captures validate thousands)."""
    out = {}
    for key, val in node.items():
        if key in ("$ref", "description", "title") or key.startswith("x-"):
            continue
        if key in ("properties", "$defs"):
            val = {k: v if isinstance(v, bool) else _inline(v, defs)
                   for k, v in val.items()}
        elif key in ("items", "if", "then", "else", "not") and \
                isinstance(val, dict):
            val = _inline(val, defs)
        elif key in ("allOf", "anyOf", "oneOf"):
            val = [_inline(v, defs) for v in val]
        out[key] = val
    if "$ref" in node:
        target = _inline(defs[node["$ref"].rsplit("/", 1)[1]], defs)
        out = {"allOf": [target], **out} if out else target
    return out


def validator(kind):
    """A Draft 2020-12 validator for the schema's definition @kind."""
    if kind not in _validators:
        try:
            import jsonschema
        except ImportError:
            raise Fail("python3-jsonschema is not installed (scripts/setup.sh"
                       " installs it): memwatchctl's JSON cannot be checked")
        s = schema()
        if kind not in s["$defs"]:
            raise Fail("the schema has no definition %r" % kind)
        sub = _inline(s["$defs"][kind], s["$defs"])
        sub["$schema"] = s["$schema"]
        _validators[kind] = jsonschema.Draft202012Validator(sub)
    return _validators[kind]


def schema_errors(kind, obj):
    """How @obj breaks the schema's definition @kind: a list of lines."""
    errs = sorted(validator(kind).iter_errors(obj),
                  key=lambda e: [str(p) for p in e.absolute_path])
    return ["%s: %s" % ("/".join(str(p) for p in e.absolute_path) or "(top)",
                        e.message[:300]) for e in errs]


def validate_json(kind, obj, what=None):
    """Fail unless @obj is valid memwatchctl output of @kind (report, run,
    list, status, event, sample, compare); returns @obj."""
    errs = schema_errors(kind, obj)
    if errs:
        raise Fail("%s breaks the schema (%s):\n  %s"
                   % (what or kind, kind, "\n  ".join(errs[:10])))
    return obj


def parse_json(text, kind, what=None):
    """memwatchctl's JSON text @text: parsed, and checked against the
    schema's definition @kind. Fail if it is not JSON or breaks it."""
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise Fail("%s is not JSON (%s): %r" % (what or kind, e, text[:300]))
    return validate_json(kind, obj, what)


def schema_fields(kind):
    """Every field of output @kind as (path, schema): nested fields are
    "totals.regions", array elements "regions[].start". Definitions that
    are outputs of their own (a report inside run) are not entered."""
    s = schema()
    defs = s["$defs"]
    outputs = {r["$ref"].rsplit("/", 1)[1] for r in s["anyOf"]}

    def resolve(node):
        while "$ref" in node:
            name = node["$ref"].rsplit("/", 1)[1]
            merged = dict(defs[name])
            merged.update({k: v for k, v in node.items() if k != "$ref"})
            node = merged
        return node

    def walk(node, prefix):
        for alt in node.get("oneOf", []):
            if "$ref" in alt and alt["$ref"].rsplit("/", 1)[1] in outputs:
                continue
            yield from walk(resolve(alt), prefix)
        for name, prop in node.get("properties", {}).items():
            if prop is False:
                continue
            yield prefix + name, prop
            sub = resolve(prop)
            if sub.get("type") == "object":
                yield from walk(sub, prefix + name + ".")
            elif sub.get("type") == "array":
                items = sub.get("items", {})
                ref = items.get("$ref", "").rsplit("/", 1)[-1]
                if ref not in outputs:
                    yield from walk(resolve(items), prefix + name + "[].")

    return list(walk(resolve(defs[kind]), ""))


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
