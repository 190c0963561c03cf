#!/usr/bin/env python3
"""sigstress.py - grpx interrupted by a random signal at a random moment.

    python3 tests/stress/sigstress.py build/grpx                   # 60 runs, seeds 1..60
    python3 tests/stress/sigstress.py build/grpx --seed 7000 --time 1800
    python3 tests/stress/sigstress.py build/grpx --seed 7042 --runs 1 -v     # one run again

Each run writes a random job (nested groups of every mode, TERM-ignoring
tasks, grandchildren, setsid escapees, outputs up to 200 KB, retries,
timeouts), starts grpx in a process group of its own (job control, so no
signal is inherited ignored) with --report, --junit, --trace and --events,
one output mode (prefix, grouped, raw, quiet), a private $TMPDIR and a
marker in its environment, waits until grpx has taken its signals, then
sends one of SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1 0-1 s later (now and
then a second SIGINT 20 ms after the first).  Checks:
  - grpx dies by that signal (a shell shows 128+N);
  - the report is valid JSON, status "interrupted", exit_code 128+N, every
    node in a final status, every canceled or skipped node with a reason;
  - JUnit is well-formed (xmllint), the trace and every events line valid JSON;
  - nothing carrying the marker is alive once grpx has exited (escapees too);
  - no temporary file left (FILE.XXXXXX beside the reports, spools in $TMPDIR);
  - grpx exits within --bound seconds of the signal (default 10: the grace
    is 300 ms; the bound is generous because the machine may be loaded).
A run that ended before the signal arrived is counted on a "# " line and
checked for consistency only.  Deterministic for a seed: the job, the
signal and its moment.
"""
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import stresslib as sl  # noqa: E402

FEATURES = {
    "termign": 0.2, "bg": 0.2, "escape": 0.05, "sleep": (0.05, 1.2), "long": 0.3,
    "fail": 0.25, "nest": 0.4, "task_attempts": 0.15, "task_timeout": 0.1, "group_timeout": 0.1,
    "grace": "300ms",
}
SIGS = [signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1]
REPORTS = ["r.json", "j.xml", "t.json", "e.ndjson"]


def sig_ready(pid, sig):
    """Has grpx blocked or caught sig (so that it is not killed by the default action)?"""
    try:
        with open(f"/proc/{pid}/status") as f:
            st = dict(line.split(":\t", 1) for line in f.read().splitlines() if ":\t" in line)
    except OSError:
        return True
    bit = 1 << (sig - 1)
    return bool((int(st.get("SigBlk", "0"), 16) | int(st.get("SigCgt", "0"), 16)) & bit)


def main():
    ap = sl.argparser(__doc__.split("\n")[0], runs=60, par=4)  # runs mostly wait
    ap.add_argument("--bound", type=float, default=10.0, help="seconds from the signal to grpx's exit")
    ap.add_argument("--hang", type=float, default=60.0, help="seconds after which grpx is SIGKILLed: a hang")
    args = ap.parse_args()
    h = sl.Harness("sigstress", args)

    def one(seed):
        rng = sl.rand_for(seed, "sigstress")
        job = sl.Gen(rng, FEATURES).job()
        outmode = rng.choice(["prefix", "grouped", "raw", "quiet"])
        tag = outmode == "grouped" and rng.random() < 0.3
        sig = rng.choice(SIGS)
        at = rng.uniform(0, 1.0)
        double = sig == signal.SIGINT and rng.random() < 0.2
        d = h.rundir(seed)
        rep, tmp = os.path.join(d, "rep"), os.path.join(d, "tmp")
        os.makedirs(rep)
        os.makedirs(tmp)
        with open(os.path.join(d, "job.yaml"), "w") as f:
            f.write(sl.to_yaml(job))
        mark = f"sig-{os.getpid()}-{seed}"
        argv = [h.grpx, "run", "-o", outmode] + (["--tag"] if tag else []) + [
            "--report", "rep/r.json", "--junit", "rep/j.xml", "--trace", "rep/t.json",
            "--events", "rep/e.ndjson", "job.yaml"]
        env = dict(os.environ, **{sl.MARK_VAR: mark, "TMPDIR": tmp})
        with open(os.path.join(d, "out"), "wb") as o, open(os.path.join(d, "err"), "wb") as e:
            p = sl.spawn(argv, stdin=subprocess.DEVNULL, stdout=o, stderr=e, env=env, cwd=d)
        t0 = time.monotonic()
        while not sig_ready(p.pid, sig) and time.monotonic() - t0 < 5 and p.poll() is None:
            time.sleep(0.001)
        t1 = time.monotonic()
        time.sleep(max(0.0, t1 + at - time.monotonic()))
        sent = True
        try:
            os.kill(p.pid, sig)
            if double:
                time.sleep(0.02)
                os.kill(p.pid, sig)
        except ProcessLookupError:
            sent = False
        ts = time.monotonic()
        hung = False
        try:
            rc = p.wait(timeout=args.hang)
        except subprocess.TimeoutExpired:
            hung = True
            os.kill(p.pid, signal.SIGKILL)
            rc = p.wait()
        sl.done(p)
        took = time.monotonic() - ts
        left = sl.marked(mark)
        problems = []
        name = signal.Signals(sig).name
        cmd = (f"cd {d}; rm -rf rep tmp; mkdir rep tmp; TMPDIR=$PWD/tmp {sl.MARK_VAR}={mark} "
               f"setsid {' '.join(argv)} & sleep {at:.3f}; kill -{name[3:]} $!"
               + (f"; sleep 0.02; kill -INT $!" if double else "") + "; wait $!; echo $?")
        if hung:
            problems.append(f"hang: grpx did not exit within {args.hang:g} s of {name}")
        r, why = sl.jload(os.path.join(rep, "r.json"))
        if why:
            problems.append(f"report: {why}")
        ended_first = rc != -sig
        if ended_first and not hung:
            if r and r.get("status") == "interrupted":
                problems.append(f"exit {rc} (expected death by {name}) but the report says interrupted")
            else:
                h.note("runs that ended before the signal")
                if r and r.get("exit_code") != rc:
                    problems.append(f"exit {rc} but the report's exit_code is {r.get('exit_code')}")
        elif not hung:
            if took > args.bound:
                problems.append(f"grpx took {took:.1f} s to exit after {name} (bound {args.bound:g} s)")
            if r:
                if r.get("status") != "interrupted":
                    problems.append(f"died by {name} but the report's status is {r.get('status')!r}")
                if r.get("exit_code") != 128 + sig:
                    problems.append(f"report exit_code {r.get('exit_code')}, expected {128 + sig}")
            with open(os.path.join(d, "err"), "rb") as f:
                err = f.read().decode(errors="replace")
            if f"grpx: interrupted by {name}" not in err:
                problems.append(f"stderr lacks 'grpx: interrupted by {name}'")
        if r:
            for path, n in sl.walk(r["root"]):
                st = n.get("status")
                if st not in sl.TERMINAL:
                    problems.append(f"node {path!r} ends {st!r}")
                if st in ("canceled", "skipped") and not n.get("reason"):
                    problems.append(f"node {path!r} is {st} without a reason")
        ok, msg = sl.xml_ok(os.path.join(rep, "j.xml"))
        if not ok:
            problems.append(f"junit not well-formed: {msg}")
        tr, why = sl.jload(os.path.join(rep, "t.json"))
        if why:
            problems.append(f"trace: {why}")
        elif not isinstance(tr.get("traceEvents"), list):
            problems.append("trace has no traceEvents list")
        evs, bad = sl.events_load(os.path.join(rep, "e.ndjson"))
        problems += bad
        extra = sorted(set(os.listdir(rep)) - set(REPORTS))
        if extra:
            problems.append(f"temporary files left beside the reports: {extra}")
        problems += sl.leftovers(left, mark, tmp)
        if not sent:
            h.note("signal not sent: grpx had already exited")
        h.result(seed, d, problems, cmd,
                 f"{name}{'x2' if double else ''} at {at:.3f}s -o {outmode}{' --tag' if tag else ''} "
                 f"exit {rc} in {took:.2f}s")

    sys.exit(h.run_all(one))


if __name__ == "__main__":
    main()
