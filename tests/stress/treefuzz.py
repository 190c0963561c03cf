#!/usr/bin/env python3
"""treefuzz.py - random nested jobs, checked against the report, the events and stdout.

    python3 tests/stress/treefuzz.py build/grpx                  # 60 runs, seeds 1..60
    python3 tests/stress/treefuzz.py build-asan/grpx --seed 9000 --time 1800
    python3 tests/stress/treefuzz.py build/grpx --seed 9042 --runs 1 -v     # one run again

Each run writes a random job: nested groups of all 9 modes (depth <= 3),
limit, on_error, stagger, delay, count, task and group timeouts, task
attempts and backoff, group attempts, retry_on, TERM-ignoring tasks,
grandchildren, tasks printing 0-200 KB to stdout and stderr, exit codes;
waterfall stages pass their input on (cat).  Every stdout line a task
prints names its path and pid ("O PATH PID I FILL"), so what stdout must
hold can be told from the report and the events.  grpx runs with -j 1,
-j 3 or no -j, one of -o prefix, grouped, grouped --tag, raw, quiet, and
--report and --events.  Checks:
  - the exit status against the report's status and exit_code; every node
    in a final status, canceled/skipped ones with a reason; `timeout` only
    on a node with a timeout; a retrying node's attempts = its attempt_log;
  - each group's status and `selected` against its mode's rule (race: the
    first child to end ok; take/last: the first/last COUNT ok in completion
    order; all: its children in order; waterfall: the last stage; retry: its
    child; streaming modes select nothing; a failed group selects nothing
    except `all`);
  - events: valid NDJSON, t_ms never decreasing; exactly one `end` per node
    per attempt of its group (a group canceled in its backoff: none); every
    task start has an exit before the next start or end; no node starts
    while its group is not running; the last `end` of a node agrees with
    the report; never more tasks running than -j (start/exit events);
  - stdout (prefix, grouped, --tag): exactly the lines of the attempts the
    report selects, each line whole and once, each attempt's lines in
    order and complete (a canceled or timed-out task's may stop early), held
    results contiguous and in their group's order, the top-level groups in
    file order, tags naming the task that wrote the line; quiet: nothing;
  - nothing carrying the run's marker alive after grpx exits; $TMPDIR empty;
  - no sanitizer report on stderr (run it against an ASan build).
Deterministic for a seed: the job and the options.
"""
import os
import re
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stresslib as sl  # noqa: E402

FEATURES = {
    "termign": 0.15, "bg": 0.15, "escape": 0.03, "sleep": (0, 0.5), "long": 0.08,
    "fail": 0.3, "nest": 0.4, "task_attempts": 0.2, "task_timeout": 0.12, "group_timeout": 0.1,
    "group_attempts": 0.1, "grace": "300ms",
}
SANITIZER = re.compile(r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|runtime error:|"
                       r"ThreadSanitizer|UndefinedBehaviorSanitizer")


def index_job(job):
    """path -> job node, with _path, _parent set."""
    idx = {}

    def rec(n, path, parent):
        n["_path"] = path
        n["_parent"] = parent
        idx[path] = n
        for i, c in enumerate(n.get("tasks", [])):
            rec(c, f"{path}/{c.get('name', i + 1)}" if path else str(c.get("name", i + 1)), n)

    root = {"mode": "errgroup", "tasks": job["groups"], "_root": True}
    rec(root, "", None)
    return idx


def lines_of(node):
    m = re.search(r"awk -v n=(\d+) -v k=O", node.get("run", ""))
    return int(m.group(1)) if m else 0


class Leaf:
    """The lines one attempt (pid) of task `origin` printed, written to stdout
    by `emitter` (itself, or a waterfall stage that copied them).  partial:
    the writer was stopped (canceled, timed out), so its lines may stop
    early and the last one may be cut anywhere."""

    def __init__(self, pid, n, partial, emitter, origin=None):
        self.pid, self.n, self.partial, self.emitter = pid, n, partial, emitter
        self.origin = origin or emitter

    def line(self, i):
        return f"O {self.origin} {self.pid} {i} {'x' * ((i * 7) % 61)}"


class Seq:
    def __init__(self, items, held=True):
        self.items, self.held = items, held


class Bag:
    def __init__(self, items):
        self.items = items


def reemit(s, emitter, partial):
    """A structure whose bytes a stage copied (cat): the stage writes them
    (and a stage stopped while it copied may cut them short)."""
    if isinstance(s, Leaf):
        return Leaf(s.pid, s.n, s.partial or partial, emitter, s.origin)
    if isinstance(s, Seq):
        return Seq([reemit(x, emitter, partial) for x in s.items], s.held)
    return Bag([reemit(x, emitter, partial) for x in s.items])


def leaves(s):
    if isinstance(s, Leaf):
        yield s
    else:
        for x in s.items:
            yield from leaves(x)


class Oracle:
    def __init__(self, job, report, events, jobs, outmode, run_timeout=None):
        self.run_timeout = run_timeout
        self.idx = index_job(job)
        self.r = report
        self.evs = events
        self.jobs = jobs
        self.outmode = outmode
        self.p = []
        self.rep = {path: n for path, n in sl.walk(report["root"])}
        self.last_pid = {}
        for ev in events:
            if ev.get("event") == "start" and ev.get("kind") == "task":
                self.last_pid[ev["path"]] = ev.get("pid")

    # --- the report ---
    def check_report(self, rc):
        r, p = self.r, self.p
        st = r.get("status")
        want = {"ok": 0, "failed": 1, "timeout": 124}.get(st)
        if want is None:
            p.append(f"report status {st!r}")
        elif rc != want:
            p.append(f"exit {rc} but the report's status is {st!r}")
        if r.get("exit_code") != rc:
            p.append(f"exit {rc} but the report's exit_code is {r.get('exit_code')}")
        root = r["root"]["status"]
        if st == "ok" and root != "ok" or st == "failed" and root not in ("failed", "timeout"):
            p.append(f"report status {st} but the root is {root}")
        if (st == "ok") != (not r.get("errors")):
            p.append(f"report status {st} with errors {r.get('errors')}")
        if set(self.rep) != set(self.idx):
            p.append(f"report paths differ from the job's: {sorted(set(self.rep) ^ set(self.idx))[:6]}")
            return
        for path, n in self.rep.items():
            j = self.idx[path]
            s = n.get("status")
            if s not in sl.TERMINAL:
                p.append(f"{path!r}: status {s!r}")
            if s in ("canceled", "skipped") and not n.get("reason"):
                p.append(f"{path!r}: {s} without a reason")
            if s == "timeout" and "timeout" not in j and not (path == "" and self.run_timeout):
                inner = [c for c in j.get("tasks", []) if self.rep[c["_path"]]["status"] == "timeout"]
                if not inner:
                    p.append(f"{path!r}: timeout, but it has no timeout and no child timed out")
            if "attempt_log" in n and n.get("attempts") != len(n["attempt_log"]):
                p.append(f"{path!r}: attempts {n.get('attempts')} but {len(n['attempt_log'])} in attempt_log")
            if n.get("kind") == "group":
                self.check_group(path, n, j)

    def check_group(self, path, n, j):
        p = self.p
        mode = n.get("mode")
        kids = [self.rep[c["_path"]] for c in j["tasks"]]
        st = n["status"]
        sel = n.get("selected", [])
        ok = [k for k in kids if k["status"] == "ok"]
        order = self.completion(path, [k["path"] for k in kids])
        ok_order = [x for x in order if self.rep[x]["status"] == "ok"]
        count = j.get("count", 1)
        if st == "ok":
            if mode in ("errgroup", "sized", "schedule", "all") and len(ok) != len(kids):
                p.append(f"{path!r} ({mode}) ok with children {[k['status'] for k in kids]}")
            if mode in ("take", "last") and len(ok) < count:
                p.append(f"{path!r} ({mode} count {count}) ok with {len(ok)} ok children")
            if mode in ("race", "retry", "waterfall") and not ok:
                p.append(f"{path!r} ({mode}) ok with no ok child")
            if mode == "waterfall" and kids[-1]["status"] != "ok":
                p.append(f"{path!r} waterfall ok but its last stage is {kids[-1]['status']}")
            want = {"race": ok_order[:1], "take": ok_order[:count], "last": ok_order[-count:],
                    "all": [k["path"] for k in kids], "waterfall": [kids[-1]["path"]],
                    "retry": [kids[0]["path"]]}.get(mode, [])
            if mode in ("take", "last") and sorted(sel) == sorted(want) and sel != want:
                p.append(f"{path!r} ({mode}) selected {sel}, completion order says {want}")
            elif sel != want:
                p.append(f"{path!r} ({mode}) ok selected {sel}, expected {want} (ends: {order})")
        elif st == "failed":
            if mode in ("race", "retry") and ok:
                p.append(f"{path!r} ({mode}) failed with an ok child")
            # on_error: cancel fails take/last at the first error, whatever
            # succeeded (SPEC 3: Hunch's Last needs every child ok)
            if (mode in ("take", "last") and len(ok) >= count and "timeout" not in j
                    and j.get("on_error") != "cancel"):
                p.append(f"{path!r} ({mode} count {count}) failed with {len(ok)} ok children")
            # on_error: continue (their default) fails take/last only once
            # `count` successes are out of reach: more than n - count bad
            nbad = sum(1 for k in kids if k["status"] in ("failed", "timeout", "error"))
            if (mode in ("take", "last") and j.get("on_error", "continue") == "continue"
                    and "timeout" not in j and nbad <= len(kids) - count):
                p.append(f"{path!r} ({mode} count {count}) failed with {nbad} of {len(kids)} children "
                         f"bad: {count} successes were still in reach")
            if mode in ("errgroup", "sized", "schedule", "all") and len(ok) == len(kids):
                p.append(f"{path!r} ({mode}) failed with every child ok")
            if mode == "all":
                allp = [k["path"] for k in kids]
                if sel != allp[:len(sel)]:
                    p.append(f"{path!r} (all, failed) selected {sel}: not its children in order")
            elif sel:
                p.append(f"{path!r} ({mode}) failed but selected {sel}")
        elif sel and mode != "all":
            p.append(f"{path!r} ({mode}) {st} but selected {sel}")

    def completion(self, gpath, kids):
        """The children's paths in the order of their last end events."""
        last = {}
        for i, ev in enumerate(self.evs):
            if ev.get("event") == "end" and ev.get("path") in kids:
                last[ev["path"]] = i
        return [k for k in sorted(last, key=last.get)]

    # --- the events ---
    def check_events(self):
        p, evs = self.p, self.evs
        t = -1
        for ev in evs:
            if ev.get("t_ms", 0) < t:
                p.append(f"events: t_ms goes back ({t} -> {ev.get('t_ms')})")
                break
            t = ev.get("t_ms", 0)
        parent = {path: (j["_parent"]["_path"] if j["_parent"] is not None else None)
                  for path, j in self.idx.items()}
        kids = {path: [c["_path"] for c in j.get("tasks", [])] for path, j in self.idx.items()}
        open_ = {}
        seg = {path: {} for path in kids}
        last_retry = {}
        task_live = {}
        last_end = {}
        running = 0
        peak = 0
        for i, ev in enumerate(evs):
            e, path = ev.get("event"), ev.get("path")
            if path not in parent:
                p.append(f"events: unknown path {path!r}")
                continue
            up = parent[path]
            if e == "start":
                if up is not None and not open_.get(up):
                    p.append(f"events: {path!r} starts while its group {up!r} is not running (event {i + 1})")
                if ev.get("kind") == "task":
                    if task_live.get(path):
                        p.append(f"events: {path!r} starts again without an exit (event {i + 1})")
                    task_live[path] = True
                    running += 1
                    peak = max(peak, running)
                else:
                    if not open_.get(path):
                        seg[path] = {}
                    open_[path] = True
                    last_retry[path] = False
            elif e == "exit":
                if ev.get("kind") == "task" and task_live.get(path):
                    task_live[path] = False
                    running -= 1
            elif e == "retry" and ev.get("kind") == "group":
                self.close_segment(path, kids[path], seg[path], i, "retry")
                seg[path] = {}
                last_retry[path] = True
            elif e == "end":
                if task_live.get(path):
                    p.append(f"events: {path!r} ends while an attempt runs (no exit; event {i + 1})")
                    task_live[path] = False
                    running -= 1
                if up is not None:
                    seg[up][path] = seg[up].get(path, 0) + 1
                if path in kids and kids[path]:
                    if not (last_retry.get(path) and not seg[path]):  # canceled in its backoff
                        self.close_segment(path, kids[path], seg[path], i, "end")
                    seg[path] = {}
                open_[path] = False
                last_retry[path] = False
                last_end[path] = ev
        if self.jobs and peak > self.jobs:
            p.append(f"events: {peak} tasks running at once with -j {self.jobs}")
        for path, n in self.rep.items():
            ev = last_end.get(path)
            if ev is None:
                p.append(f"events: no end for {path!r}")
                continue
            if ev.get("status") != n.get("status"):
                p.append(f"events: {path!r} ends {ev.get('status')}, the report says {n.get('status')}")
            if n.get("kind") == "task":
                for k in ("exit_code", "signal"):
                    if ev.get(k) != n.get(k):
                        p.append(f"events: {path!r} {k} {ev.get(k)}, the report says {n.get(k)}")
            if ev.get("status") in ("canceled", "skipped") and not ev.get("reason") and path:
                p.append(f"events: {path!r} end {ev.get('status')} without a reason")

    def close_segment(self, g, kids, counts, i, at):
        bad = {k: counts.get(k, 0) for k in kids if counts.get(k, 0) != 1}
        if bad:
            self.p.append(f"events: at the {at} of {g!r} (event {i + 1}) its children ended "
                          f"{bad} times in this attempt (expected once each)")

    # --- stdout ---
    def expected(self):
        """The structure stdout must follow."""
        return Seq([self.result(c["_path"], (), False) for c in self.idx[""]["tasks"]], held=False)

    def result(self, path, inp, held):
        """What node `path` adds to stdout (or to its selecting group's result)."""
        n, j = self.rep[path], self.idx[path]
        st = n["status"]
        if n["kind"] == "task":
            if st in ("skipped", "error"):
                return Bag([])
            pid = self.last_pid.get(path)
            if pid is None:
                return Bag([])
            me = Leaf(pid, lines_of(j), st in ("canceled", "timeout"), path)
            if j["run"].find("cat; ") >= 0 and inp:
                return Seq([reemit(Seq(list(inp), True), path, me.partial), me], True)
            return me
        mode = n["mode"]
        kids = j["tasks"]
        if mode == "waterfall":
            cur = inp
            res = {}
            for c in kids:
                s = self.result(c["_path"], cur, True)
                res[c["_path"]] = s
                cur = (s,)
            return Seq([res[x] for x in n.get("selected", []) if x in res], True)
        if mode in sl.SELECTING:
            # `all` emits each child once all before it have been (SPEC 3):
            # in input order, but not in one piece; the others hold theirs
            return Seq([self.result(x, inp, True) for x in n.get("selected", [])], mode != "all")
        return Bag([self.result(c["_path"], inp, held) for c in kids])

    def check_stdout(self, out):
        p = self.p
        if self.outmode == "quiet":
            if out:
                p.append(f"stdout under -o quiet: {out[:80]!r}")
            return
        tagged = self.outmode in ("prefix", "tag")
        exp = self.expected()
        want = {lf.pid: lf for lf in leaves(exp)}
        pos = {}  # pid -> [positions]
        seen = set()
        lines = out.split(b"\n")
        nl_end = True
        if lines and lines[-1] == b"":
            lines.pop()
        elif lines:
            nl_end = False
        bad = 0
        cuts = {}  # pid -> the index of its cut last line
        ended_cut = False  # the last line is a cut one
        for k, raw in enumerate(lines):
            line = raw.decode(errors="replace")
            tag = None
            if tagged:
                m = re.match(r"\[([^\]]*)\] (.*)$", line, re.S)
                if not m:
                    bad += 1
                    if bad <= 3:
                        p.append(f"stdout line {k + 1} has no tag: {line[:80]!r}")
                    continue
                tag, line = m.group(1), m.group(2)
            rest = line
            while True:
                parts = rest.split(" ", 4)
                if len(parts) >= 4 and parts[0] == "O" and sl.line_ok(parts):
                    break
                # A task stopped while it wrote leaves its last line cut;
                # grpx ends it with a newline when it tags lines, and in
                # byte-exact grouped mode what comes next follows on.
                cut = self.cut_line(rest, want, pos, tag)
                if cut is None or (tagged and cut[1]):
                    parts = None
                    break
                lf, rest = cut
                i = len(pos.get(lf.pid, []))
                cuts[lf.pid] = i
                seen.add((lf.pid, i))
                pos.setdefault(lf.pid, []).append((k, i))
                if not rest:
                    ended_cut = k == len(lines) - 1
                    break
            if parts is None:
                bad += 1
                if bad <= 3:
                    p.append(f"stdout line {k + 1} is not a whole line a task wrote: {line[:80]!r}")
                continue
            if not rest:
                continue
            pid, i = int(parts[2]), int(parts[3])
            if (pid, i) in seen:
                p.append(f"stdout line {k + 1}: line {i} of {parts[1]} (pid {pid}) twice")
                continue
            seen.add((pid, i))
            lf = want.get(pid)
            if lf is None:
                if bad < 3:
                    p.append(f"stdout line {k + 1}: {parts[1]} pid {pid} line {i}, an attempt the report "
                             f"does not select")
                bad += 1
                continue
            if tagged and tag != lf.emitter:
                p.append(f"stdout line {k + 1}: tag [{tag}], written by {lf.emitter}")
            pos.setdefault(pid, []).append((k, i))
        if not nl_end and (tagged or not ended_cut):
            p.append("stdout does not end with a newline")
        for pid, i in cuts.items():
            if pos[pid][-1][1] != i:
                p.append(f"stdout: {want[pid].emitter} pid {pid}: lines after its cut line {i}")
        if bad > 3:
            p.append(f"stdout: {bad} bad lines in all")
        for pid, lf in want.items():
            got = [i for _, i in pos.get(pid, [])]
            if got != list(range(len(got))):
                p.append(f"stdout: {lf.emitter} pid {pid}: lines out of order or missing: {got[:10]}")
            elif len(got) != lf.n and not (lf.partial and len(got) < lf.n):
                p.append(f"stdout: {lf.emitter} pid {pid}: {len(got)} of its {lf.n} lines")
        self.check_order(exp, pos, len(lines), tagged)

    @staticmethod
    def cut_line(text, want, pos, tag):
        """(leaf, rest) when text starts with a strict prefix of the next line
        of a stopped (partial) attempt, the writer named by tag if tagged,
        and rest is empty or a whole line; else None."""
        for lf in want.values():
            if not lf.partial or (tag is not None and tag != lf.emitter):
                continue
            full = lf.line(len(pos.get(lf.pid, [])))
            for n in range(min(len(full) - 1, len(text)), 0, -1):
                if text[:n] != full[:n]:
                    continue
                rest = text[n:]
                parts = rest.split(" ", 4)
                if not rest or (len(parts) >= 4 and parts[0] == "O" and sl.line_ok(parts)):
                    return lf, rest
        return None

    def check_order(self, s, pos, nlines, tagged):
        span = {}

        def rng(x):
            if id(x) in span:
                return span[id(x)]
            ks = [k for lf in leaves(x) for k, _ in pos.get(lf.pid, [])]
            span[id(x)] = (min(ks), max(ks), len(ks)) if ks else None
            return span[id(x)]

        def rec(x, held):
            if isinstance(x, Leaf):
                r = rng(x)
                if r and (held or not tagged) and r[1] - r[0] + 1 != r[2]:
                    self.p.append(f"stdout: the lines of {x.emitter} (pid {x.pid}) are not together "
                                  f"(lines {r[0] + 1}-{r[1] + 1})")
                return
            if isinstance(x, Seq):
                if x.held:
                    r = rng(x)
                    if r and r[1] - r[0] + 1 != r[2]:
                        who = sorted({lf.emitter for lf in leaves(x)})[:4]
                        self.p.append(f"stdout: a held result ({who}) is not together "
                                      f"(lines {r[0] + 1}-{r[1] + 1})")
                prev = None
                for y in x.items:
                    r = rng(y)
                    if r is None:
                        continue
                    if prev and r[0] < prev[1]:
                        who = sorted({lf.emitter for lf in leaves(y)})[:3]
                        self.p.append(f"stdout: {who} comes before what precedes it in its group's order")
                    prev = r
            for y in x.items:
                rec(y, held or (isinstance(x, Seq) and x.held))

        rec(s, False)


def main():
    ap = sl.argparser(__doc__.split("\n")[0], runs=60, par=4)  # runs mostly sleep
    ap.add_argument("--hang", type=float, default=120.0, help="seconds after which a run is a hang")
    args = ap.parse_args()
    h = sl.Harness("treefuzz", args)

    def one(seed):
        rng = sl.rand_for(seed, "treefuzz")
        job = sl.Gen(rng, FEATURES).job()
        outmode = rng.choice(["prefix", "grouped", "tag", "raw", "quiet"])
        jobs = rng.choice([0, 1, 3])
        rtimeout = rng.choice([None] * 9 + [round(rng.uniform(0.5, 3), 2)])
        d = h.rundir(seed)
        tmp = os.path.join(d, "tmp")
        os.makedirs(tmp)
        with open(os.path.join(d, "job.yaml"), "w") as f:
            f.write(sl.to_yaml(job))
        mark = f"tree-{os.getpid()}-{seed}"
        argv = [h.grpx, "run", "-o", "grouped" if outmode == "tag" else outmode]
        argv += ["--tag"] if outmode == "tag" else []
        argv += ["-j", str(jobs)] if jobs else []
        argv += ["--timeout", f"{rtimeout}s"] if rtimeout else []
        argv += ["--report", "r.json", "--events", "e.ndjson", "job.yaml"]
        env = dict(os.environ, **{sl.MARK_VAR: mark, "TMPDIR": tmp})
        t0 = time.monotonic()
        with open(os.path.join(d, "out"), "wb") as o, open(os.path.join(d, "err"), "wb") as e:
            p = sl.spawn(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=env, cwd=d)
        problems = []
        try:
            rc = p.wait(timeout=args.hang)
        except subprocess.TimeoutExpired:
            problems.append(f"hang: no exit after {args.hang:g} s")
            os.kill(p.pid, 9)
            rc = p.wait()
        sl.done(p)
        took = time.monotonic() - t0
        left = sl.marked(mark)
        cmd = f"cd {d}; rm -rf tmp; mkdir tmp; TMPDIR=$PWD/tmp {' '.join(argv)}; echo $?"
        with open(os.path.join(d, "err"), "rb") as f:
            err = f.read().decode(errors="replace")
        m = SANITIZER.search(err)
        if m:
            problems.append(f"sanitizer: {err[m.start():m.start() + 200]!r}")
        r, why = sl.jload(os.path.join(d, "r.json"))
        evs, bad = sl.events_load(os.path.join(d, "e.ndjson"))
        problems += bad
        if why:
            problems.append(f"report: {why}")
        elif not problems:
            o = Oracle(job, r, evs, jobs, outmode, rtimeout)
            o.check_report(rc)
            o.check_events()
            if outmode != "raw" and not o.p:
                with open(os.path.join(d, "out"), "rb") as f:
                    o.check_stdout(f.read())
            problems += o.p
        problems += sl.leftovers(left, mark, tmp)
        h.result(seed, d, problems, cmd,
                 f"-o {outmode}{f' -j {jobs}' if jobs else ''}{f' --timeout {rtimeout}s' if rtimeout else ''} "
                 f"exit {rc} in {took:.1f}s")

    sys.exit(h.run_all(one))


if __name__ == "__main__":
    main()
