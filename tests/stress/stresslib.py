"""stresslib - what kill9.py, sigstress.py and treefuzz.py share.

Python 3 standard library only.  Each harness takes the grpx binary, a seed
and a budget; run i of a harness uses seed SEED+i, so a failing run is
reproduced alone with `--seed SEED+i --runs 1`, and its job file, command
and outputs are kept in the --keep folder.

Processes are found by an environment marker: grpx is started with
STRESS_MARK=<unique> in its environment, every task inherits it (setsid
escapees too), so a leftover is any process, not a zombie, whose
/proc/PID/environ holds that entry.  The harness makes itself a child
subreaper, so that what grpx leaves behind (the keeper after a SIGKILL,
escapees) is re-parented to it and reaped here, not left as zombies under
an init that does not reap.
"""

import argparse
import re
import resource
import ctypes
import json
import os
import random
import shutil
import signal
import subprocess
import sys
import threading
import time

MODES = ["errgroup", "sized", "all", "race", "take", "last", "retry", "waterfall", "schedule"]
ON_ERROR_MODES = {"errgroup", "sized", "all", "take", "last", "schedule"}
LIMIT_MODES = {"errgroup", "sized", "all", "race", "take", "last", "schedule"}
STAGGER_MODES = {"race", "take"}
COUNT_MODES = {"take", "last"}
SELECTING = {"all", "race", "take", "last", "retry", "waterfall"}
STREAMING = {"errgroup", "sized", "schedule"}
TERMINAL = {"ok", "failed", "timeout", "canceled", "skipped", "error"}

MARK_VAR = "STRESS_MARK"
ESC_VAR = "STRESS_ESC"

# A signal ignored when grpx starts stays ignored (SPEC 11): a harness run
# as a background job of a script would pass SIGINT ignored on.  Python's
# own SIG_IGN of SIGPIPE/SIGXFSZ is undone for children by subprocess.
_SIGS = ["SIGHUP", "SIGINT", "SIGQUIT", "SIGTERM", "SIGUSR1", "SIGUSR2", "SIGALRM", "SIGXCPU", "SIGCHLD"]


def setup_process():
    # SIGQUIT and crashes must not leave core files in the run folders
    resource.setrlimit(resource.RLIMIT_CORE, (0, resource.getrlimit(resource.RLIMIT_CORE)[1]))
    for name in _SIGS:
        s = getattr(signal, name)
        if signal.getsignal(s) == signal.SIG_IGN:
            signal.signal(s, signal.SIG_DFL)
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        PR_SET_CHILD_SUBREAPER = 36
        libc.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except OSError:
        pass
    _Reaper().start()


# --- children: Popen children are ours to wait for; orphans are reaped here ---

_lock = threading.Lock()
_popen_pids = set()


def spawn(argv, **kw):
    """subprocess.Popen in a process group of its own (job control), registered
    so that the orphan reaper never takes its exit status."""
    # process_group is Python 3.11; a session of its own is the same for
    # grpx here (no terminal is involved) and works on older Pythons
    own = {"process_group": 0} if sys.version_info >= (3, 11) else {"start_new_session": True}
    with _lock:
        p = subprocess.Popen(argv, **own, **kw)
        _popen_pids.add(p.pid)
    return p


def done(p):
    with _lock:
        _popen_pids.discard(p.pid)


def _children():
    out = []
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                with open(f"/proc/self/task/{tid}/children") as f:
                    out += [int(x) for x in f.read().split()]
            except OSError:
                pass
    except OSError:
        pass
    return out


class _Reaper(threading.Thread):
    def __init__(self):
        super().__init__(daemon=True)

    def run(self):
        while True:
            time.sleep(0.2)
            reap_orphans()


def reap_orphans():
    with _lock:
        for pid in _children():
            if pid in _popen_pids:
                continue
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


# --- processes by marker ---

def proc_state(pid):
    """(state letter, comm) of pid, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            s = f.read()
    except OSError:
        return None
    i = s.rfind(b")")
    comm = s[s.find(b"(") + 1:i].decode(errors="replace")
    return s[i + 2:i + 3].decode(), comm


def marked(mark):
    """Processes (not zombies) whose environment holds MARK_VAR=mark:
    a list of dicts {pid, state, comm, esc, pgid, sid}."""
    key = f"{MARK_VAR}={mark}".encode()
    esc = f"{ESC_VAR}=1".encode()
    found = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/environ", "rb") as f:
                env = f.read().split(b"\0")
        except OSError:
            continue
        if key not in env:
            continue
        st = proc_state(d)
        if st is None or st[0] in "ZX":
            continue
        try:
            pgid, sid = os.getpgid(int(d)), os.getsid(int(d))
        except OSError:
            continue
        found.append({"pid": int(d), "state": st[0], "comm": st[1], "esc": esc in env,
                      "pgid": pgid, "sid": sid})
    return found


def kill_marked(mark):
    """SIGKILL whatever carries the marker (the machine is shared)."""
    for _ in range(5):
        left = marked(mark)
        if not left:
            return
        for p in left:
            try:
                os.kill(p["pid"], signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.05)
    reap_orphans()


def leftovers(left, mark, tmp):
    """What a run left behind, as problems: LEFT (the marked processes alive
    when grpx exited, each said to be gone or not 1 s later) and files in
    TMP.  Then SIGKILLs whatever still carries MARK."""
    problems = []
    if left:
        time.sleep(1)
        still = {x["pid"] for x in marked(mark)}
        for x in left:
            problems.append(f"left behind after grpx exited: {describe([x])}"
                            f"{' (gone 1 s later)' if x['pid'] not in still else ''}")
    if os.listdir(tmp):
        problems.append(f"files left in $TMPDIR: {sorted(os.listdir(tmp))}")
    kill_marked(mark)
    return problems


def describe(procs):
    return ", ".join(f"{p['pid']}({p['comm']} {p['state']} pgid {p['pgid']}{' setsid-escapee' if p['esc'] else ''})"
                     for p in procs)


# --- job files ---

def yq(s):
    """A YAML scalar: single-quoted unless it is a plain word."""
    s = str(s)
    if re.fullmatch(r"[A-Za-z][A-Za-z0-9_-]*", s) and s.lower() not in (
            "true", "false", "yes", "no", "on", "off", "null", "y", "n"):
        return s
    return "'" + s.replace("'", "''") + "'"


def yval(v):
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k}: {yval(x)}" for k, x in v.items()) + "}"
    if isinstance(v, list):
        return "[" + ", ".join(yval(x) for x in v) + "]"
    return yq(v)


def _item(node, ind, out):
    """node as a block list item whose "- " is at column ind."""
    keys = [k for k in node if not k.startswith("_")]
    for j, k in enumerate(keys):
        lead = " " * ind + ("- " if j == 0 else "  ")
        if k == "tasks":
            out.append(f"{lead}tasks:")
            for c in node[k]:
                _item(c, ind + 4, out)
        else:
            out.append(f"{lead}{k}: {yval(node[k])}")


def to_yaml(job):
    out = []
    for k, v in job.items():
        if k == "groups":
            out.append("groups:")
            for g in v:
                _item(g, 2, out)
        elif not k.startswith("_"):
            out.append(f"{k}: {yval(v)}")
    return "\n".join(out) + "\n"


def ms(x):
    return f"{int(round(x * 1000))}ms"


# Each stdout line a task prints is "O PATH PID I FILL" and each stderr line
# "E PATH PID I FILL", where FILL is i*7%61 'x': a line cut, merged or
# repeated shows, and the pid names the attempt that wrote it.  The awk
# program is the job's top-level env EMIT.
EMIT = ('BEGIN{t=ENVIRON["GRPX_TASK"]; for(i=0;i<n;i++){s=sprintf("%" (i*7)%61 "s",""); '
        'gsub(/ /,"x",s); printf "%s %s %s %d %s\\n",k,t,p,i,s}}')


def emit_cmd(kind, lines, to_err=False):
    if lines <= 0:
        return ""
    return f'awk -v n={lines} -v k={kind} -v p=$$ "$EMIT"{" >&2" if to_err else ""}; '


def line_ok(parts):
    """parts of a line split on ' ' (maxsplit 4): is FILL right for its index?"""
    if len(parts) < 4:
        return False
    try:
        i = int(parts[3])
    except ValueError:
        return False
    fill = parts[4] if len(parts) > 4 else ""
    return fill == "x" * ((i * 7) % 61)


class Gen:
    """A random job tree.  feat: which features to use (dict of bools/ranges)."""

    def __init__(self, rng, feat):
        self.rng = rng
        self.f = feat
        self.ntasks = 0

    def pick_lines(self):
        r = self.rng.random()
        if r < 0.25:
            return 0
        if r < 0.6:
            return self.rng.randint(1, 5)
        if r < 0.85:
            return self.rng.randint(6, 300)
        return self.rng.randint(300, 3500)  # up to about 200 KB

    def task(self, parent_mode, stage=False, name=None):
        rng, f = self.rng, self.f
        self.ntasks += 1
        t = {}
        if name:
            t["name"] = name
        cmd = ""
        termign = rng.random() < f.get("termign", 0.15)
        if termign:
            cmd += "trap '' TERM; "
        if stage:
            cmd += "cat; "
        r = rng.random()
        if r < f.get("bg", 0.15):
            # a grandchild in the task's process group
            if rng.random() < 0.5:
                cmd += "(trap '' TERM; sleep %s) >/dev/null 2>&1 & " % rng.choice(["1", "3", "10"])
            else:
                cmd += "sleep %s & " % rng.choice(["0.5", "2", "10"])  # holds the pipes
        elif r < f.get("bg", 0.15) + f.get("escape", 0.0):
            # escapes its process group: promised only at a normal end
            cmd += "setsid env %s=1 sh -c 'trap \"\" TERM; sleep 20' >/dev/null 2>&1 & " % ESC_VAR
        s1 = self.dur(f.get("sleep", (0, 0.6)))
        s2 = self.dur(f.get("sleep", (0, 0.6))) if rng.random() < 0.3 else 0
        if rng.random() < f.get("long", 0.1):
            s2 = rng.choice([2, 5, 10])
        if s1:
            cmd += f"sleep {s1}; "
        cmd += emit_cmd("O", self.pick_lines())
        if rng.random() < 0.5:
            cmd += emit_cmd("E", self.pick_lines() // 3, to_err=True)
        if s2:
            cmd += f"sleep {s2}; "
        fail = rng.random() < f.get("fail", 0.3)
        attempts = None
        if rng.random() < f.get("task_attempts", 0.15):
            attempts = rng.choice([2, 3])
            t_att = True
        else:
            t_att = False
        code = rng.choice([1, 2, 3])
        if fail:
            k = rng.choice([1, 2, 3, 9])  # succeed from attempt k (9: never)
            if rng.random() < 0.05:
                cmd += "kill -USR2 $$; "
            cmd += f'[ "$GRPX_ATTEMPT" -ge {k} ] || exit {code}; '
        cmd += "exit 0"
        t["run"] = cmd
        if rng.random() < f.get("task_timeout", 0.1):
            t["timeout"] = ms(rng.uniform(0.1, 1.0))
        if t_att:
            t["attempts"] = attempts
            if rng.random() < 0.5:
                t["backoff"] = {"initial": ms(rng.uniform(0.01, 0.2)), "factor": rng.choice([1, 2])}
            if rng.random() < 0.3:
                t["retry_on"] = sorted(set([code, rng.choice([1, 2, 3])]))
        if parent_mode == "schedule" and rng.random() < 0.7:
            t["delay"] = ms(rng.uniform(0, 0.8))
        return t

    def dur(self, rngpair):
        lo, hi = rngpair
        v = self.rng.uniform(lo, hi)
        if v < 0.02:
            return 0
        return round(v, 2)

    def group(self, depth, parent_mode=None, stage=False, name=None):
        rng, f = self.rng, self.f
        mode = rng.choice(f.get("modes", MODES))
        g = {}
        if name:
            g["name"] = name
        g["mode"] = mode
        n = 1 if mode == "retry" else rng.randint(1, f.get("width", 4))
        kids = []
        for i in range(n):
            cname = None if rng.random() < 0.3 else f"n{i + 1}"
            child_stage = mode == "waterfall" or (stage and mode == "retry")
            if depth < f.get("depth", 3) and rng.random() < f.get("nest", 0.35):
                kids.append(self.group(depth + 1, mode, child_stage, cname))
            else:
                kids.append(self.task(mode, child_stage, cname))
        g["tasks"] = kids
        if mode in LIMIT_MODES and rng.random() < 0.3:
            g["limit"] = rng.randint(1, 3)
        lim = g.pop("limit", None)  # keys in the usual order, limit decided first
        if mode in ON_ERROR_MODES and rng.random() < 0.5:
            g["on_error"] = rng.choice(["cancel", "drain", "continue"])
        if mode in STAGGER_MODES and rng.random() < 0.3:
            g["stagger"] = ms(rng.uniform(0.01, 0.3))
        if lim is not None:
            g["limit"] = lim
        if mode in COUNT_MODES:
            g["count"] = rng.randint(1, n)
        if mode == "retry":
            g["attempts"] = rng.choice([1, 2, 3, 0]) if f.get("forever", True) else rng.choice([1, 2, 3])
            if g["attempts"] == 0:
                g["timeout"] = ms(rng.uniform(0.5, 2.0))
        elif rng.random() < f.get("group_attempts", 0.08):
            g["attempts"] = rng.choice([2, 3])
        if "attempts" in g:
            if rng.random() < 0.4:
                g["backoff"] = {"initial": ms(rng.uniform(0.01, 0.3)), "factor": rng.choice([1, 2])}
            if rng.random() < 0.2:
                g["retry_on"] = sorted(set([rng.choice([1, 2, 3]), rng.choice([1, 2, 3])]))
        if "timeout" not in g and rng.random() < f.get("group_timeout", 0.12):
            g["timeout"] = ms(rng.uniform(0.2, 2.0))
        if parent_mode == "schedule" and rng.random() < 0.6:
            g["delay"] = ms(rng.uniform(0, 0.8))
        return g

    def job(self, ngroups=(1, 3)):
        groups = []
        for i in range(self.rng.randint(*ngroups)):
            groups.append(self.group(1, None, False, f"g{i + 1}"))
        return {"grace": self.f.get("grace", "300ms"), "env": {"EMIT": EMIT}, "groups": groups}


def walk(node, path=""):
    """Every (path, node) of a report tree, the root included."""
    yield path, node
    for c in node.get("children", []):
        yield from walk(c, c["path"])


# --- the harness frame ---

def argparser(desc, runs, par):
    ap = argparse.ArgumentParser(description=desc)
    ap.add_argument("grpx", help="the grpx binary")
    ap.add_argument("--seed", type=int, default=1, help="run i uses seed SEED+i (default 1)")
    ap.add_argument("--runs", type=int, default=runs, help=f"number of runs (default {runs})")
    ap.add_argument("--time", type=float, default=0,
                    help="a time budget in seconds: start no new run after it (overrides --runs)")
    ap.add_argument("-P", "--parallel", type=int, default=par, help=f"runs at once (default {par})")
    ap.add_argument("--keep", default=None,
                    help="folder for the failures' reproductions (default: $TMPDIR/grpx-stress-keep)")
    ap.add_argument("-v", "--verbose", action="store_true", help="one line per run")
    ap.add_argument("--keep-all", action="store_true", help="keep every run's folder, passed or not")
    ap.add_argument("--ignore", action="append", default=[], metavar="REGEX",
                    help="count problems matching REGEX on a '# ' line instead of failing the run "
                         "(a known bug, while hunting for others); repeatable")
    return ap


class Harness:
    def __init__(self, name, args):
        self.name = name
        self.args = args
        self.grpx = os.path.abspath(args.grpx)
        if not os.access(self.grpx, os.X_OK):
            sys.exit(f"{name}: not executable: {self.grpx}")
        base = os.environ.get("TMPDIR", "/tmp")
        self.keep = os.path.abspath(args.keep or os.path.join(base, "grpx-stress-keep"))
        os.makedirs(self.keep, exist_ok=True)
        self.work = os.path.join(base, f"grpx-{name}-{os.getpid()}")
        os.makedirs(self.work, exist_ok=True)
        self.passed = 0
        self.failed = []
        self.notes = {}
        self.lock = threading.Lock()
        setup_process()

    def note(self, what):
        with self.lock:
            self.notes[what] = self.notes.get(what, 0) + 1

    def rundir(self, seed):
        d = os.path.join(self.work, f"s{seed}")
        shutil.rmtree(d, ignore_errors=True)
        os.makedirs(d)
        return d

    def result(self, seed, d, problems, cmdline, summary=""):
        """Record a run: passed, or failed with its folder kept."""
        with self.lock:
            kept = []
            for p in problems:
                rx = next((x for x in self.args.ignore if re.search(x, p)), None)
                if rx is None:
                    kept.append(p)
                else:
                    self.notes[f"ignored ({rx})"] = self.notes.get(f"ignored ({rx})", 0) + 1
            problems = kept
            k = os.path.join(self.keep, f"{self.name}-{seed}")
            if not problems:
                self.passed += 1
                if self.args.verbose:
                    print(f"ok   seed {seed} {summary}", flush=True)
                if self.args.keep_all:
                    shutil.rmtree(k, ignore_errors=True)
                    shutil.move(d, k)
                else:
                    shutil.rmtree(d, ignore_errors=True)
                return
            shutil.rmtree(k, ignore_errors=True)
            shutil.move(d, k)
            with open(os.path.join(k, "cmd.sh"), "w") as f:
                f.write("# run in this folder:\n" + cmdline.replace(d, k) + "\n")
            with open(os.path.join(k, "problems.txt"), "w") as f:
                f.write("\n".join(problems) + "\n")
            self.failed.append((seed, k, problems))
            print(f"FAIL seed {seed} {summary}: kept in {k}", flush=True)
            for p in problems[:12]:
                print(f"    {p}", flush=True)
            if len(problems) > 12:
                print(f"    ... {len(problems) - 12} more in {k}/problems.txt", flush=True)

    def seeds(self):
        a = self.args
        t0 = time.monotonic()
        i = 0
        while True:
            if a.time > 0:
                if time.monotonic() - t0 >= a.time:
                    return
            elif i >= a.runs:
                return
            yield a.seed + i
            i += 1

    def run_all(self, one):
        """one(seed) for every seed, PARALLEL at once."""
        it = self.seeds()
        itlock = threading.Lock()
        t0 = time.monotonic()

        def worker():
            while True:
                with itlock:
                    try:
                        s = next(it)
                    except StopIteration:
                        return
                try:
                    one(s)
                except Exception as e:  # a harness bug must not pass silently
                    import traceback
                    traceback.print_exc()
                    self.result(s, self.rundir(f"{s}-x"), [f"harness error: {e!r}"], "")

        ts = [threading.Thread(target=worker) for _ in range(max(1, self.args.parallel))]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        el = time.monotonic() - t0
        shutil.rmtree(self.work, ignore_errors=True)
        n = self.passed + len(self.failed)
        first, last = self.args.seed, self.args.seed + max(0, n - 1)
        for k in sorted(self.notes):
            print(f"# {k}: {self.notes[k]}")
        print(f"# {self.name}: {n} runs, seeds {first}..{last}, {el:.0f} s, load {os.getloadavg()[0]:.1f}")
        for s, k, p in self.failed:
            print(f"# failed: seed {s} ({p[0]}); reproduce: {sys.argv[0]} {self.grpx} --seed {s} --runs 1; kept: {k}")
        print(f"{self.passed} passed, {len(self.failed)} failed")
        return 1 if self.failed else 0


def jload(path):
    """(object, None) or (None, why)."""
    try:
        with open(path, "rb") as f:
            return json.loads(f.read().decode("utf-8")), None
    except FileNotFoundError:
        return None, f"{os.path.basename(path)} missing"
    except (ValueError, UnicodeDecodeError) as e:
        return None, f"{os.path.basename(path)} is not valid JSON: {e}"


def events_load(path):
    evs, bad = [], []
    try:
        with open(path, "rb") as f:
            for n, line in enumerate(f.read().split(b"\n"), 1):
                if not line:
                    continue
                try:
                    evs.append(json.loads(line.decode("utf-8")))
                except (ValueError, UnicodeDecodeError) as e:
                    bad.append(f"events line {n} is not valid JSON: {e}")
    except FileNotFoundError:
        bad.append("events file missing")
    return evs, bad


def xml_ok(path):
    # registered like grpx: the orphan reaper must not take xmllint's exit
    # status first (Popen then reads ECHILD as status 0: a pass)
    p = spawn(["xmllint", "--noout", path], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    err = p.communicate()[1]
    done(p)
    return p.returncode == 0, err.decode(errors="replace")[:300]


def rand_for(seed, name):
    return random.Random(f"{name}-{seed}")
