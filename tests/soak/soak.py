#!/usr/bin/python3
"""Soak test: the default matrix run again and again, with workers killed and runs interrupted.

Usage: soak.py HARNESS ROOT [--runs N] [--seed S] [--out DIR] [--skip-describe] [--keep-reports]

HARNESS is the ckpt-harness executable (its ckpt-harness-worker and plugins/ beside it), ROOT
the repository root: every run is `HARNESS run --report-dir DIR` in ROOT, i.e. the shipped
default config ckpt-harness.toml (the main job), with a report dir of its own.

First a reference run, left alone: it must exit 0 with no error, and gives the planned units,
their cases and outcomes. The random moments are fractions of the expected run time (the
median of the last clean untouched runs, the reference's first: it follows the machine's
load). Then N runs, each (in blocks of three, one of each in random order):
  untouched        left alone;
  kill             1-3 workers (children of the supervisor) SIGKILLed at random moments;
  interrupt        SIGINT or SIGTERM to the supervisor (its pid, or its process group) at a
                   random moment; half of them also with 1-2 worker kills before it.
After each run, checked:
  - the exit code: 0 when nothing is an error, 1 when a kill hit a unit, 130 when the run
    was interrupted (results.json says so); the harness never dies of the signal;
  - junit.xml validates against both tests/junit_xsd/*.xsd (xmllint) and agrees with
    results.json (suites = units, errors, failures, tests); results.json parses and its
    totals add up; report.html is complete; nothing else (no temporary file) in the dir;
  - every planned unit (the reference's ids) is in results.json exactly once, no other unit;
  - a unit whose worker was killed says so ("killed by SIGKILL" in its first error case, the
    cases after it "not run: the worker was killed ..."), the cases before it are the
    reference's, it ended right after a kill, and there are no more such units than kills;
    every other unit of the run has exactly the reference's cases and outcomes;
  - in an interrupted run, every unit that did not finish is reported as interrupted (the
    worker "was stopped (the run was interrupted)") or "not run:", no more units were
    stopped in the middle than there are workers, and the signal-to-exit time is within
    --max-stop-seconds;
  - afterwards no process is left: this script is a child subreaper, so anything the
    supervisor left behind becomes its child; every worker seen during the run is gone; and
    no ckpt-harness-worker of this build started during the run is alive.
--skip-describe measures the moments from the plan line instead of the start, so no kill or
signal lands while the plugins are described (that phase alone is left undisturbed).
One line per run, a summary at the end; the exit status is 1 on any violation (listed).
The seed (printed) makes the modes, moments and signals reproducible; the machine's timing
decides what exactly each moment hits.
"""
import argparse
import ctypes
import json
import os
import random
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET

REPORT_FILES = {"results.json", "junit.xml", "report.html"}
KILLED = "killed by SIGKILL"
STOPPED = "(the run was interrupted)"
NOT_STARTED = "not run: the run was interrupted before this unit started"
# A run interrupted while the plugins were being described has no plan: its one unit says so.
BEFORE_PLAN = "interrupted while the plugins were described: no unit ran"
PROGRESS = re.compile(r"^\[(\d+)/(\d+)\]\s+(\S+)\s+(\S+) \(")
PLAN_LINE = re.compile(r"^ckpt-harness \S+: (\d+) unit\(s\), (\d+) case\(s\)")
PR_SET_CHILD_SUBREAPER = 36
POLL_SECONDS = 0.01


# ---------------------------------------------------------------- /proc helpers

def proc_stat(pid):
    """(ppid, pgid, state, starttime in clock ticks) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            text = f.read().decode(errors="replace")
    except OSError:
        return None
    fields = text[text.rindex(")") + 2:].split()
    return {"state": fields[0], "ppid": int(fields[1]), "pgid": int(fields[2]), "starttime": int(fields[19])}


def proc_cmdline(pid):
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def proc_exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe").removesuffix(" (deleted)")
    except OSError:
        return ""


def all_pids():
    return [int(d) for d in os.listdir("/proc") if d.isdigit()]


def children_of(pid):
    """Children of `pid`: /proc/PID/task/*/children where the kernel has it, else a scan."""
    out = []
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as f:
                out.extend(int(c) for c in f.read().split())
        return out
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []
    except OSError:
        return []
    return [p for p in all_pids() if (st := proc_stat(p)) and st["ppid"] == pid]


def describe_process(pid):
    st = proc_stat(pid) or {}
    return f"pid {pid} (state {st.get('state', '?')}, ppid {st.get('ppid', '?')}): {' '.join(proc_cmdline(pid))[:200]}"


# ---------------------------------------------------------------- planning

class RunPlan:
    def __init__(self, index, mode, kills, interrupt):
        self.index = index
        self.mode = mode            # untouched | kill | interrupt | interrupt+kill
        self.kills = kills          # [(moment fraction, worker choice fraction)], sorted
        self.interrupt = interrupt  # (moment fraction, signal name, "process" | "group") or None

    def label(self):
        text = self.mode
        if self.interrupt:
            text = f"{self.interrupt[1]}->{self.interrupt[2]}@{self.interrupt[0]:.2f}"
            if self.kills:
                text += f"+kill{len(self.kills)}"
        elif self.kills:
            text = f"kill{len(self.kills)}@" + ",".join(f"{k[0]:.2f}" for k in self.kills)
        return text


def plan_runs(rng, runs):
    plans, block = [], []
    for i in range(1, runs + 1):
        if not block:
            block = ["untouched", "kill", "interrupt"]
            rng.shuffle(block)
        mode = block.pop()
        kills, interrupt = [], None
        if mode == "kill":
            kills = sorted((rng.random(), rng.random()) for _ in range(rng.randint(1, 3)))
        elif mode == "interrupt":
            at = rng.random()
            interrupt = (at, rng.choice(["SIGINT", "SIGTERM"]), rng.choice(["process", "group"]))
            if rng.random() < 0.5:
                mode = "interrupt+kill"
                kills = sorted((rng.random() * at, rng.random()) for _ in range(rng.randint(1, 2)))
        plans.append(RunPlan(i, mode, kills, interrupt))
    return plans


# ---------------------------------------------------------------- one run

class Outcome:
    """What happened in one run, as observed from outside."""

    def __init__(self):
        self.exit_code = None
        self.seconds = 0.0
        self.lines = []            # (seconds since start, text)
        self.plan_line_at = None
        self.workers = {}          # pid -> (starttime, first seen at)
        self.kills = []            # dicts: at, pid, age, workers, before_plan
        self.kills_not_delivered = 0
        self.signal_at = None
        self.signal_late = False   # the run had ended before the signal was due
        self.signal_before_plan = False
        self.stop_seconds = None
        self.hung = False
        self.leftovers = []
        self.supervisor_starttime = None


class Soak:
    def __init__(self, args):
        self.harness = os.path.realpath(args.harness)
        self.root = os.path.realpath(args.root)
        self.worker = os.path.join(os.path.dirname(self.harness), "ckpt-harness-worker")
        self.schemas = sorted(os.path.join(self.root, "tests", "junit_xsd", f)
                              for f in os.listdir(os.path.join(self.root, "tests", "junit_xsd")) if f.endswith(".xsd"))
        self.out = args.out
        self.args = args
        self.ref = None            # reference: ids, cases by id, seconds, plan_line_at, jobs
        self.current = None        # the supervisor of the run under way (for cleanup)
        self.timings = []          # (seconds, plan line at) of the clean untouched runs
        self.subreaper = False

    # -- process plumbing

    def become_subreaper(self):
        try:
            libc = ctypes.CDLL(None, use_errno=True)
            self.subreaper = libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0) == 0
        except (OSError, AttributeError):
            self.subreaper = False
        if not self.subreaper:
            print("note: could not become a child subreaper; leftovers are found by scanning /proc only")

    def is_worker(self, pid):
        argv = proc_cmdline(pid)
        return proc_exe(pid) == self.worker or (argv and os.path.realpath(argv[0]) == self.worker)

    def worker_children(self, supervisor):
        return [c for c in children_of(supervisor) if self.is_worker(c)]

    def kill_worker(self, supervisor, pid):
        """SIGKILL through a pidfd, after checking the pid is still the supervisor's worker."""
        try:
            fd = os.pidfd_open(pid)
        except OSError:
            return False
        try:
            st = proc_stat(pid)
            if not st or st["ppid"] != supervisor or st["state"] == "Z":
                return False
            signal.pidfd_send_signal(fd, signal.SIGKILL)
            return True
        except OSError:
            return False
        finally:
            os.close(fd)

    def find_leftovers(self, o, supervisor):
        """Processes the run left behind (pids), found three ways."""
        found = {}
        me = os.getpid()
        pids = all_pids()
        for pid in pids:
            st = proc_stat(pid)
            if not st:
                continue
            if st["ppid"] in (me, supervisor) and pid != supervisor:
                found[pid] = "orphan of the supervisor (reparented to the soak)" if st["ppid"] == me else "child of the supervisor"
            elif pid in o.workers and st["starttime"] == o.workers[pid][0]:
                found[pid] = "a worker of this run"
            elif (o.supervisor_starttime is not None and st["starttime"] >= o.supervisor_starttime
                  and st["ppid"] in (1, me, supervisor) and self.is_worker(pid)):
                found[pid] = "a worker of this build started during the run"
        return found

    def clean_up(self, pids):
        for pid in pids:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        deadline = time.monotonic() + 2
        for pid in pids:
            while time.monotonic() < deadline:
                try:
                    if os.waitpid(pid, os.WNOHANG)[0] == pid:
                        break
                except ChildProcessError:
                    if not os.path.exists(f"/proc/{pid}"):
                        break
                time.sleep(0.01)

    def expected_seconds(self, from_plan_line):
        """How long a run takes now: the median of the last clean untouched runs (the machine's
        load changes; the moments are fractions of this)."""
        values = sorted(max(0.1, t - (p if from_plan_line else 0.0)) for t, p in self.timings[-5:])
        return values[len(values) // 2]

    # -- running

    def execute(self, plan, report_dir, log_path, base_from_plan_line):
        o = Outcome()
        os.makedirs(os.path.dirname(report_dir), exist_ok=True)
        shutil.rmtree(report_dir, ignore_errors=True)
        env = dict(os.environ, NO_COLOR="1", CI="1")
        span = self.expected_seconds(base_from_plan_line) if self.ref else 0.0
        hang_after = max(120.0, 20 * (self.ref["seconds"] if self.ref else 10.0))
        t0 = time.monotonic()
        p = subprocess.Popen([self.harness, "run", "--report-dir", report_dir], cwd=self.root, env=env,
                             stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True)
        self.current = p
        st = proc_stat(p.pid)
        o.supervisor_starttime = st["starttime"] if st else None

        def read():
            with open(log_path, "w") as log:
                for raw in p.stdout:
                    text = raw.decode(errors="replace").rstrip("\n")
                    o.lines.append((time.monotonic() - t0, text))
                    log.write(text + "\n")

        reader = threading.Thread(target=read, daemon=True)
        reader.start()

        kills = list(plan.kills)
        interrupt = plan.interrupt
        while True:
            now = time.monotonic() - t0
            for c in children_of(p.pid):
                if c not in o.workers and self.is_worker(c):
                    cst = proc_stat(c)
                    if cst:
                        o.workers[c] = (cst["starttime"], now)
            if p.poll() is not None:
                break
            if o.plan_line_at is None:
                for at, text in list(o.lines):
                    if PLAN_LINE.match(text):
                        o.plan_line_at = at
                        break
            base = (o.plan_line_at if base_from_plan_line else 0.0)
            if base is not None:
                if interrupt and now >= base + interrupt[0] * span:
                    sig = getattr(signal, interrupt[1])
                    if interrupt[2] == "group":
                        os.killpg(p.pid, sig)  # its own session: the group is the supervisor alone
                    else:
                        os.kill(p.pid, sig)
                    o.signal_at = now
                    o.signal_before_plan = o.plan_line_at is None
                    o.kills_not_delivered += len(kills)
                    kills, interrupt = [], None
                while kills and now >= base + kills[0][0] * span:
                    workers = sorted(w for w in self.worker_children(p.pid))
                    if not workers:
                        break  # none alive right now: try again on the next turn
                    pid = workers[min(len(workers) - 1, int(kills[0][1] * len(workers)))]
                    if not self.kill_worker(p.pid, pid):
                        break
                    o.kills.append({"at": now, "pid": pid, "age": now - o.workers.get(pid, (0, now))[1],
                                    "workers": len(workers), "before_plan": o.plan_line_at is None})
                    kills.pop(0)
            if now > hang_after:
                o.hung = True
                for w in self.worker_children(p.pid):
                    self.kill_worker(p.pid, w)
                p.kill()
                p.wait()
                break
            time.sleep(POLL_SECONDS)
        end = time.monotonic() - t0
        o.exit_code = p.returncode
        o.seconds = end
        if o.signal_at is not None:
            o.stop_seconds = end - o.signal_at
        if interrupt:  # the run ended before its moment came
            o.signal_late = True
            o.kills_not_delivered += len(kills)
        elif kills:
            o.kills_not_delivered += len(kills)
        # Leftovers right at the supervisor's exit, before anything else runs.
        found = self.find_leftovers(o, p.pid)
        if found:
            described = {pid: describe_process(pid) for pid in found}
            time.sleep(1.0)
            for pid, why in found.items():
                still = os.path.exists(f"/proc/{pid}") and (proc_stat(pid) or {}).get("state") != "Z"
                o.leftovers.append(f"{why}: {described[pid]}" + ("" if still else " (gone or a zombie 1 s later)"))
            self.clean_up(list(found))
        reader.join(timeout=5)
        if reader.is_alive():
            o.leftovers.append("the supervisor's stdout stayed open after it exited (a process still holds it)")
        self.current = None
        return o

    def build_fingerprint(self):
        """Sizes and times of the executables and plugins: a concurrent rebuild changes them."""
        paths = [self.harness, self.worker]
        plugins = os.path.join(os.path.dirname(self.harness), "plugins")
        if os.path.isdir(plugins):
            paths += sorted(os.path.join(plugins, f) for f in os.listdir(plugins))
        out = []
        for path in paths:
            try:
                st = os.stat(path)
                out.append((path, st.st_size, st.st_mtime_ns))
            except OSError:
                out.append((path, None, None))
        return out

    # -- checking

    def check_reports(self, report_dir, violations):
        """Validates the three reports; returns results.json (or None)."""
        files = set(os.listdir(report_dir)) if os.path.isdir(report_dir) else set()
        for f in sorted(files - REPORT_FILES):
            violations.append(f"unexpected file in the report dir (temporary file left?): {f}")
        for f in sorted(REPORT_FILES - files):
            violations.append(f"{f} was not written")
        results = None
        if "results.json" in files:
            try:
                with open(os.path.join(report_dir, "results.json")) as f:
                    results = json.load(f)
                if results.get("schema") != "ckpt-harness.results" or not isinstance(results.get("units"), list):
                    violations.append("results.json is not a ckpt-harness.results document")
                    results = None
            except (OSError, ValueError) as e:
                violations.append(f"results.json does not parse: {e}")
        if "junit.xml" in files:
            path = os.path.join(report_dir, "junit.xml")
            for xsd in self.schemas:
                r = subprocess.run(["xmllint", "--noout", "--schema", xsd, path], capture_output=True, text=True)
                if r.returncode != 0:
                    violations.append(f"junit.xml is not valid against {os.path.basename(xsd)}: "
                                      + (r.stderr.strip().splitlines() or ["?"])[0][:300])
            try:
                suites = ET.parse(path).getroot().findall("testsuite")
                if results is not None:
                    ids = [u["id"] for u in results["units"]]
                    if sorted(s.get("name") for s in suites) != sorted(ids):
                        violations.append(f"junit.xml has {len(suites)} suites, results.json {len(ids)} units (not the same ids)")
                    t = results.get("totals", {})
                    for attr, key in (("tests", "cases"), ("errors", "errors"), ("failures", "failed")):
                        n = sum(int(s.get(attr, "0")) for s in suites)
                        if n != t.get(key):
                            violations.append(f"junit.xml {attr}={n}, results.json totals.{key}={t.get(key)}")
            except (ET.ParseError, ValueError) as e:
                violations.append(f"junit.xml does not parse: {e}")
        if "report.html" in files:
            with open(os.path.join(report_dir, "report.html"), "rb") as f:
                f.seek(max(0, os.path.getsize(f.name) - 64))
                if b"</html>" not in f.read():
                    violations.append("report.html is incomplete (no </html> at its end)")
        if results is not None:
            counts = {"cases": 0, "passed": 0, "failed": 0, "errors": 0, "skipped": 0, "expected_failures": 0}
            key = {"pass": "passed", "fail": "failed", "error": "errors", "skipped": "skipped", "expected-fail": "expected_failures"}
            for u in results["units"]:
                for c in u.get("cases", []):
                    counts["cases"] += 1
                    if c.get("outcome") in key:
                        counts[key[c["outcome"]]] += 1
            t = results.get("totals", {})
            wrong = {k: (v, t.get(k)) for k, v in counts.items() if t.get(k) != v}
            if wrong:
                violations.append(f"results.json totals do not add up (counted, stated): {wrong}")
        return results

    def check_run(self, plan, o, report_dir):
        """Returns (violations, stats)."""
        v = []
        stats = {"units": 0, "error_units": 0, "interrupted_units": 0, "stopped_units": 0, "hit": 0, "late": o.signal_late}
        if o.hung:
            v.append(f"the run did not end within {max(120.0, 20 * self.ref['seconds']):.0f} s (killed by the soak)")
        if o.exit_code is not None and o.exit_code < 0 and not o.hung:
            name = signal.Signals(-o.exit_code).name
            v.append(f"the harness died of {name} instead of handling it"
                     + (f" (signal sent {o.signal_at:.3f} s after the start)" if o.signal_at is not None else ""))
        for text in o.leftovers:
            v.append(f"left behind after the run: {text}")
        results = self.check_reports(report_dir, v)
        if results is None:
            return v, stats
        units = results["units"]
        interrupted = bool(results.get("interrupted"))
        stats["units"] = len(units)
        stats["error_units"] = sum(1 for u in units if u.get("outcome") == "error")

        # Exit code.
        sent = o.signal_at is not None
        if interrupted and not sent:
            v.append("results.json says interrupted, but no signal was sent")
        if interrupted and o.exit_code != 130:
            v.append(f"exit {o.exit_code} for an interrupted run (130 expected)")
        if not interrupted and o.exit_code is not None and o.exit_code >= 0:
            bad = any(c.get("outcome") in ("error", "fail") for u in units for c in u.get("cases", []))
            if o.exit_code != (1 if bad else 0):
                v.append(f"exit {o.exit_code}, expected {1 if bad else 0} "
                         + ("(a unit is an error or fails)" if bad else "(every unit as expected)"))
            if sent:
                stats["late"] = True  # signalled while its reports were being written: it finished
        if plan.mode == "untouched" and o.exit_code != 0:
            v.append(f"an untouched run exited {o.exit_code} (0 expected)")
        if sent and interrupted and o.stop_seconds is not None and o.stop_seconds > self.args.max_stop_seconds:
            v.append(f"{o.stop_seconds:.2f} s from the signal to the exit (bound {self.args.max_stop_seconds} s)")

        # Every planned unit exactly once.
        ids = [u.get("id") for u in units]
        seen = {}
        for i in ids:
            seen[i] = seen.get(i, 0) + 1
        for i, n in seen.items():
            if n > 1:
                v.append(f"unit {i} is in results.json {n} times")
        missing = [i for i in self.ref["ids"] if i not in seen]
        before_plan = interrupted and [u.get("id", "").split("/")[0] for u in units] == ["run"]
        if before_plan:
            message = (units[0].get("cases") or [{}])[0].get("message", "")
            if message != BEFORE_PLAN:
                v.append(f"an interrupted run without units says '{message}', expected '{BEFORE_PLAN}'")
            missing = []  # nothing was planned yet
        plugin_units = [u for u in units if str(u.get("id", "")).startswith("plugin/")]
        plugin_ids = {u["id"] for u in plugin_units} | ({units[0]["id"]} if before_plan else set())
        for u in units:
            if u.get("id") not in self.ref["cases"] and u.get("id") not in plugin_ids:
                v.append(f"unit {u.get('id')} was not planned (not in the reference run)")
        if missing:
            why = ""
            if plugin_units:
                why = (" -- instead: " + "; ".join(f"{u['id']}: {(u.get('cases') or [{}])[0].get('message', '')}"
                                                  for u in plugin_units)[:600])
            when = ""
            if o.signal_before_plan or any(k["before_plan"] for k in o.kills):
                when = " (a signal or kill came while the plugins were being described, before the plan line)"
            v.append(f"{len(missing)} planned unit(s) missing from results.json{when}: "
                     + ", ".join(missing[:5]) + (" ..." if len(missing) > 5 else "") + why)

        # Each unit: as in the reference, or killed, or interrupted -- said so. The same
        # problem in many units is one violation.
        killed_units = []
        problems = {}

        def unit_problem(uid, text):
            problems.setdefault(text, []).append(uid)
        for u in units:
            uid = u.get("id")
            cases = u.get("cases", [])
            if uid in self.ref["cases"]:
                ref = self.ref["cases"][uid]
                if [(c.get("scenario"), c.get("component")) for c in cases] != [(r[0], r[1]) for r in ref]:
                    unit_problem(uid, f"its cases are not the planned ones ({len(cases)} cases, {len(ref)} planned)")
                    continue
                first = next((k for k, c in enumerate(cases) if c.get("outcome") == "error"), None)
                if first is None:
                    got = [c.get("outcome") for c in cases]
                    if got != [r[2] for r in ref]:
                        diff = [f"{r[0]}[{r[1]}]: {r[2]} -> {g}" for r, g in zip(ref, got) if r[2] != g]
                        unit_problem(uid, f"outcomes differ from the reference run (other units must be unaffected): "
                                 + "; ".join(diff[:3]))
                    continue
                if [c.get("outcome") for c in cases[:first]] != [r[2] for r in ref[:first]]:
                    unit_problem(uid, f"the cases before its first error differ from the reference run")
                message = cases[first].get("message", "")
                rest = cases[first + 1:]
                if STOPPED in message:
                    kind, follow = "stopped", "not run: the worker was stopped (the run was interrupted)"
                elif KILLED in message and "without sending its result" in message:
                    kind, follow = "killed", "not run: the worker was killed by SIGKILL"
                elif message.startswith(NOT_STARTED) and first == 0:
                    kind, follow = "not-started", NOT_STARTED
                else:
                    unit_problem(uid, f"an error that is neither a worker kill nor an interruption: "
                             f"{cases[first].get('scenario')}[{cases[first].get('component')}]: {message[:200]}")
                    continue
                odd = [c for c in rest if c.get("outcome") != "error" or not c.get("message", "").startswith(follow)]
                if odd:
                    unit_problem(uid, f"after its {kind} case, a case says '{odd[0].get('outcome')}: "
                             f"{odd[0].get('message', '')[:120]}' (expected an error '{follow} ...')")
                if kind in ("stopped", "not-started"):
                    stats["interrupted_units"] += 1
                    stats["stopped_units"] += kind == "stopped"
                    if not interrupted:
                        unit_problem(uid, f"reported as {kind} by an interruption, but the run is not marked interrupted")
                else:
                    killed_units.append(uid)
            elif uid in plugin_ids:
                message = (cases or [{}])[0].get("message", "")
                if KILLED in message:
                    killed_units.append(uid)
                elif "interrupted" in message:
                    stats["interrupted_units"] += 1
                else:
                    unit_problem(uid, f"plugin could not be used: {message[:200]}")
        for text, uids in problems.items():
            v.append((f"{uids[0]}: " if len(uids) == 1 else f"{len(uids)} units ({', '.join(uids[:3])}, ...): ") + text)
        jobs = int(results.get("environment", {}).get("jobs", self.ref["jobs"]))
        if stats["stopped_units"] > jobs:
            v.append(f"{stats['stopped_units']} units stopped in the middle, but only {jobs} workers")

        # Killed units: no more than kills, each right after one.
        stats["hit"] = len(killed_units)
        if killed_units and not o.kills:
            v.append(f"{len(killed_units)} unit(s) report a worker killed by SIGKILL, but no worker was killed: "
                     + ", ".join(killed_units[:3]))
        elif len(killed_units) > len(o.kills):
            v.append(f"{len(killed_units)} unit(s) report a killed worker, but only {len(o.kills)} kill(s) were sent")
        ended = {}
        for at, text in o.lines:
            m = PROGRESS.match(text)
            if m:
                ended[m.group(4)] = at
        free = sorted(k["at"] for k in o.kills)
        for uid in sorted(killed_units, key=lambda i: ended.get(i, 0.0)):
            if uid.startswith("plugin/"):
                continue
            at = ended.get(uid)
            if at is None:
                continue
            match = [k for k in free if k <= at + 0.05 and at - k <= self.args.max_stop_seconds + 3.0]
            if not match:
                v.append(f"{uid}: its worker was killed by SIGKILL at {at:.2f} s, but no kill was sent shortly before")
            else:
                free.remove(match[0])
        return v, stats

    # -- the whole soak

    def reference(self):
        print("reference run (left alone) ...", flush=True)
        d = os.path.join(self.out, "reference")
        o = self.execute(RunPlan(0, "untouched", [], None), os.path.join(d, "report"), os.path.join(d, "console.log"), False)
        path = os.path.join(d, "report", "results.json")
        problems = []
        if o.exit_code != 0:
            problems.append(f"exit {o.exit_code}")
        if o.leftovers:
            problems.extend(o.leftovers)
        results = self.check_reports(os.path.join(d, "report"), problems)
        if results is not None:
            errors = [u["id"] for u in results["units"] if u.get("outcome") in ("error", "fail")]
            if errors:
                problems.append(f"unit(s) failing or in error: {', '.join(errors[:5])}")
            if results.get("interrupted"):
                problems.append("marked interrupted")
        if problems or results is None or o.plan_line_at is None:
            print(f"FAIL: the reference run of the default config is not clean ({d}): " + "; ".join(problems or ["no plan line"]))
            print("\n".join(t for _, t in o.lines[-20:]))
            sys.exit(1)
        self.timings.append((o.seconds, o.plan_line_at))
        self.ref = {
            "ids": [u["id"] for u in results["units"]],
            "cases": {u["id"]: [(c["scenario"], c["component"], c["outcome"]) for c in u["cases"]] for u in results["units"]},
            "seconds": o.seconds,
            "plan_line_at": o.plan_line_at,
            "jobs": int(results["environment"].get("jobs", 2)),
        }
        ncases = sum(len(c) for c in self.ref["cases"].values())
        print(f"reference: exit 0, {len(self.ref['ids'])} units, {ncases} cases, {o.seconds:.2f} s "
              f"(plugins described in {o.plan_line_at:.2f} s), {len(o.workers)} workers seen; report {path}", flush=True)
        if not self.args.keep_reports:
            shutil.rmtree(os.path.join(d, "report"), ignore_errors=True)

    def run(self):
        args = self.args
        for tool in ("xmllint",):
            if not shutil.which(tool):
                print(f"FAIL: {tool} is needed (apt-get install libxml2-utils)")
                return 1
        for path in (self.harness, self.worker):
            if not os.access(path, os.X_OK):
                print(f"FAIL: {path} is not an executable (build it first)")
                return 1
        if len(self.schemas) < 2:
            print(f"FAIL: expected the two JUnit schemas in {self.root}/tests/junit_xsd")
            return 1
        os.makedirs(self.out, exist_ok=True)
        print(f"soak: {args.runs} runs, seed {args.seed}, harness {self.harness}, root {self.root}, out {self.out}"
              + (", disruptions after the plugins are described" if args.skip_describe else ""), flush=True)
        self.become_subreaper()
        started = time.monotonic()
        fingerprint = self.build_fingerprint()
        self.reference()
        plans = plan_runs(random.Random(args.seed), args.runs)
        failures = []
        by_mode = {}
        totals = {"kills": 0, "hit": 0, "undelivered": 0, "interrupted_units": 0, "stopped_units": 0,
                  "late_signals": 0, "max_seconds": 0.0, "max_stop": 0.0, "describe_disrupted": 0, "rebuilds": 0}
        width = len(str(args.runs))
        for plan in plans:
            d = os.path.join(self.out, f"run-{plan.index:03d}")
            report_dir = os.path.join(d, "report")
            before = self.build_fingerprint()
            if before != fingerprint:
                print(f"note: the build changed before run {plan.index} (a concurrent rebuild?)", flush=True)
                fingerprint = before
                totals["rebuilds"] += 1
            o = self.execute(plan, report_dir, os.path.join(d, "console.log"), args.skip_describe)
            violations, stats = self.check_run(plan, o, report_dir)
            if self.build_fingerprint() != fingerprint and violations:
                violations.append("note: the harness build changed during this run (a concurrent rebuild), "
                                  "which may explain the above")
            by_mode[plan.mode] = by_mode.get(plan.mode, 0) + 1
            totals["kills"] += len(o.kills)
            totals["hit"] += stats["hit"]
            totals["undelivered"] += o.kills_not_delivered
            totals["interrupted_units"] += stats["interrupted_units"]
            totals["stopped_units"] += stats["stopped_units"]
            totals["late_signals"] += bool(stats["late"]) and plan.interrupt is not None
            totals["max_seconds"] = max(totals["max_seconds"], o.seconds)
            totals["describe_disrupted"] += o.signal_before_plan or any(k["before_plan"] for k in o.kills)
            if o.stop_seconds is not None and not stats["late"]:
                totals["max_stop"] = max(totals["max_stop"], o.stop_seconds)
            extra = []
            if plan.kills:
                extra.append(f"kills={len(o.kills)}/{len(plan.kills)} hit={stats['hit']}")
            if plan.interrupt:
                if o.signal_at is None:
                    extra.append("signal=not sent (run already over)")
                else:
                    extra.append(f"signal@{o.signal_at:.2f}s" + (" (before plan)" if o.signal_before_plan else "")
                                 + (f" stop={o.stop_seconds:.2f}s" if o.stop_seconds is not None else "")
                                 + (" late: run had finished its units" if stats["late"] else ""))
            status = "ok" if not violations else f"FAIL ({len(violations)})"
            print(f"run {plan.index:>{width}}/{args.runs} {plan.mode:<14} exit={o.exit_code!s:<4} {o.seconds:6.2f}s "
                  f"units={stats['units']:<3} errors={stats['error_units']:<3} interrupted={stats['interrupted_units']:<3} "
                  f"{' '.join(extra)}  [{plan.label()}] {status}", flush=True)
            for text in violations:
                print(f"    VIOLATION run {plan.index}: {text}", flush=True)
            if plan.mode == "untouched" and not violations and o.plan_line_at is not None:
                self.timings.append((o.seconds, o.plan_line_at))
            if violations:
                failures.append((plan.index, plan.label(), violations, d))
            elif not args.keep_reports:
                shutil.rmtree(report_dir, ignore_errors=True)
        wall = time.monotonic() - started
        print()
        print(f"summary (seed {args.seed}): {args.runs} runs in {wall:.1f} s: "
              + ", ".join(f"{by_mode.get(m, 0)} {m}" for m in ("untouched", "kill", "interrupt", "interrupt+kill")))
        print(f"  workers killed: {totals['kills']} ({totals['hit']} hit a unit or a plugin being described, {totals['undelivered']} planned kills not sent: "
              f"the run had ended or was interrupted first)")
        print(f"  interrupted units: {totals['interrupted_units']} ({totals['stopped_units']} stopped in the middle); "
              f"signals after the last unit: {totals['late_signals']}; runs disrupted while plugins were described: "
              f"{totals['describe_disrupted']}")
        print(f"  max run time {totals['max_seconds']:.2f} s (reference {self.ref['seconds']:.2f} s), "
              f"max signal-to-exit {totals['max_stop']:.2f} s")
        if totals["rebuilds"]:
            print(f"  note: the build changed {totals['rebuilds']} time(s) during the soak (concurrent rebuilds)")
        if failures:
            print(f"  FAILED: {len(failures)} of {args.runs} runs violated the soak's checks:")
            for index, label, violations, d in failures:
                print(f"    run {index} [{label}] ({d}):")
                for text in violations:
                    print(f"      - {text}")
            return 1
        print("  PASSED: every run left valid reports, no process behind, and every interrupted unit reported as such")
        return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("harness", help="the ckpt-harness executable")
    parser.add_argument("root", help="the repository root (holds ckpt-harness.toml)")
    parser.add_argument("--runs", type=int, default=50, help="runs after the reference run (default 50)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", help="scratch dir for report dirs and console logs (default: a new temporary dir)")
    parser.add_argument("--skip-describe", action="store_true",
                        help="measure the random moments from the plan line, so nothing hits the describe phase")
    parser.add_argument("--max-stop-seconds", type=float, default=2.0,
                        help="bound from an interrupt to the exit, reports written (default 2, the issue's)")
    parser.add_argument("--keep-reports", action="store_true", help="keep the report dirs of runs that passed")
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    args.out = os.path.abspath(args.out or tempfile.mkdtemp(prefix="ckpt-soak-"))
    soak = Soak(args)

    def stop(signum, frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    try:
        return soak.run()
    except KeyboardInterrupt:
        p = soak.current
        if p is not None and p.poll() is None:
            workers = soak.worker_children(p.pid)
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
            soak.clean_up([w for w in workers if os.path.exists(f"/proc/{w}")])
        print("soak interrupted")
        return 130


if __name__ == "__main__":
    sys.exit(main())
