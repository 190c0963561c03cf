#!/usr/bin/env python3
"""bench.py - the benchmarks of issues 7, 11 and 12, driven by bench/run.sh.

Every benchmark runs its contenders in alternation, round after round
(the order rotates each round), so that a noisy neighbour hits them all
alike.  Reported: the median over the rounds, the min-max beside it, and
ratios computed from the medians of the same invocation.  The benchmarks
only measure: the targets are the one table TARGETS below, and the
verdicts (targets.md) come from it alone.

Environment (set by run.sh): GRPX, FLOOR, TIMER_FLOOR, WF_FLOOR, RESULTS (the
snapshot directory), WORK, QUICK=1 for a smoke run, ONLY=a,b to run a subset;
RUNS, N_THROUGHPUT, N_SCALE, N_SCALE_RSS, N_TIMERS, WF_BYTES, N_PREFIX,
N_FANOUT, MATRIX_SIDE to override sizes.
"""
import json
import os
import random
import re
import select
import statistics
import subprocess
import sys
import time

QUICK = os.environ.get("QUICK") == "1"
GRPX = os.environ["GRPX"]
FLOOR = os.environ["FLOOR"]
TIMER_FLOOR = os.environ["TIMER_FLOOR"]
WF_FLOOR = os.environ["WF_FLOOR"]
RESULTS = os.environ["RESULTS"]
WORK = os.environ["WORK"]
RUNS = int(os.environ.get("RUNS", "3" if QUICK else "5"))
N_TP = int(os.environ.get("N_THROUGHPUT", "300" if QUICK else "2000"))
N_PAR = max(100, N_TP // 4)  # GNU parallel is ~5 ms/command here: a quarter of the commands
N_SCALE = int(os.environ.get("N_SCALE", "2000" if QUICK else "10000"))
N_SCALE_RSS = int(os.environ.get("N_SCALE_RSS", "10000" if QUICK else "100000"))
N_TIMERS = int(os.environ.get("N_TIMERS", "1000" if QUICK else "10000"))
WF_BYTES = os.environ.get("WF_BYTES", "128M" if QUICK else "1G")
N_PREFIX = int(os.environ.get("N_PREFIX", "100000" if QUICK else "1000000"))
N_FANOUT = int(os.environ.get("N_FANOUT", "300" if QUICK else "5000"))
N_FANOUT_PAR = max(100, N_FANOUT // 4)
MATRIX_SIDE = int(os.environ.get("MATRIX_SIDE", "30" if QUICK else "100"))
ONLY = set(filter(None, os.environ.get("ONLY", "").split(",")))
GRACE_MS = 1000  # the cancellation benchmark's grace

os.makedirs(RESULTS, exist_ok=True)
os.makedirs(WORK, exist_ok=True)
raw = {"interference": []}
metrics = {}  # key of TARGETS -> measured value
NOTES = {}  # key of TARGETS -> what a peer of the same run says about it
SUMMARY = []  # (benchmark, method and peers, result in ratios), for summary.md

# The targets, in this one place: (metric, comparison, threshold, unit,
# what, source).  A metric that was not measured in a run is left out.
TARGETS = [
    ("tp_floor_2", "<=", 1.05, "×", "throughput J=2: grpx run (job file) ÷ the spawn floor", "issue 11 (issue 7: ≤ 1.10×)"),
    ("tp_floor_16", "<=", 1.05, "×", "throughput J=16: grpx run (job file) ÷ the spawn floor", "issue 11 (issue 7: ≤ 1.10×)"),
    ("tp_xargs_2", "<=", 1.15, "×", "throughput J=2: grpx run ÷ xargs -P", "issue 7"),
    ("tp_xargs_16", "<=", 1.15, "×", "throughput J=16: grpx run ÷ xargs -P", "issue 7"),
    ("tp_parallel_2", ">=", 10, "×", "throughput J=2: GNU parallel ÷ grpx run", "issue 7"),
    ("tp_parallel_16", ">=", 10, "×", "throughput J=16: GNU parallel ÷ grpx run", "issue 7"),
    ("scale_floor", "<=", 1.15, "×", f"scale: wall of {N_SCALE} queued `true` tasks ÷ the floor", "issue 7"),
    ("scale_rss_mb", "<", 64, " MB", f"scale: peak RSS with {N_SCALE_RSS} tasks loaded and queued", "issue 7"),
    ("timers_p50_us", "<=", 100, " µs", f"timers: p50 start lateness, {N_TIMERS} schedule children in 2 s (start event)", "issue 7"),
    ("timers_p99_x_heap", "<=", 1.5, "×", f"timers: p99 start lateness ÷ the heap floor's p99, {N_TIMERS} children", "issue 7"),
    ("timers_p99_ms", "<=", 2, " ms", f"timers: p99 start lateness, {N_TIMERS} children", "issue 3"),
    ("wf_gbs", ">=", 1, " GB/s", "waterfall: bytes ÷ wall, head → cat → wc -c", "issue 7"),
    ("wf_rss_mb", "<", 16, " MB", "waterfall: peak RSS", "issue 7"),
    ("cancel_ms", "<=", GRACE_MS + 50, " ms", "cancel 100 siblings that obey SIGTERM (grace + 50 ms)", "issue 7"),
    ("cancel_stubborn_ms", "<=", GRACE_MS + 50, " ms", "cancel 100 siblings whose grandchildren ignore SIGTERM (grace + 50 ms)", "issue 7"),
    ("prefix_sed_pipe", "<=", 2, "×", f"prefix: {N_PREFIX} lines, grpx -o prefix ÷ sed, into `cat >/dev/null`", "issue 11"),
    ("prefix_sed_wc", "<=", 2, "×", f"prefix: {N_PREFIX} lines, grpx -o prefix ÷ sed, into `wc -c`", "issue 11"),
    ("stall_sleep_prefix", "<", 100, " ms", "stall: 1 s timeout lateness from the task's start (worst round), FIFO reader asleep, prefix", "issue 11"),
    ("stall_sleep_grouped", "<", 100, " ms", "stall: 1 s timeout lateness from the task's start (worst round), FIFO reader asleep, grouped", "issue 11"),
    ("stall_slow_grouped", "<", 100, " ms", "stall: 1 s timeout lateness from the task's start (worst round), 5 MB/s reader, 300 MB grouped sibling", "issue 11"),
    ("stall_slow_prefix", "<", 100, " ms", "stall: 1 s timeout lateness from the task's start (worst round), 5 MB/s reader, `yes` prefix sibling", "issue 11"),
    ("fanout_xargs", "<=", 1.10, "×", f"fan-out: seq {N_FANOUT} | grpx sized -j2 'echo {{}}' ÷ xargs -P2 -I{{}} sh -c", "issue 12"),
    ("first_ms", "<", 100, " ms", "fan-out: first task after an input while stdin stays open, runner already waiting (worst round)", "issue 12 (threshold chosen here)"),
    ("first_xargs", "<=", 2, "×", "fan-out: first-task latency ÷ xargs -P2's (input written at once)", "issue 12 (threshold chosen here)"),
    ("matrix_plan_s", "<", 0.5, " s", f"matrix: grpx plan of a {MATRIX_SIDE}×{MATRIX_SIDE} matrix (wall, median)", "issue 12"),
    ("matrix_check_s", "<", 0.5, " s", f"matrix: grpx check of a {MATRIX_SIDE}×{MATRIX_SIDE} matrix (wall, median)", "issue 12"),
]


def log(*a):
    print(*a, file=sys.stderr, flush=True)


def loadavg():
    with open("/proc/loadavg") as f:
        return float(f.read().split()[0])


def timed(cmd, rss=False, check_lines=None, out=os.devnull, ok_codes=(0,)):
    """Run a shell command; return (seconds, peak_rss_kb or None)."""
    rfile = os.path.join(WORK, "rss.txt")
    full = f"/usr/bin/time -f %M -o {rfile} {cmd}" if rss else cmd
    for attempt in range(3):
        t0 = time.perf_counter()
        with open(out, "wb") as fo:
            p = subprocess.run(["/bin/sh", "-c", full], stdout=fo, stderr=subprocess.PIPE)
        dt = time.perf_counter() - t0
        if p.returncode != -9:
            break
        # SIGKILLed from outside (a shared machine): measure again, and say
        # so in summary.md rather than hide it.
        raw["interference"].append({"cmd": cmd, "killed_after_s": dt})
        log(f"!! killed by SIGKILL from outside, measuring again: {cmd}")
    if p.returncode not in ok_codes:
        log(f"!! exit {p.returncode}: {cmd}\n{p.stderr.decode(errors='replace')[-2000:]}")
        raise SystemExit(1)
    if check_lines is not None:
        with open(out, "rb") as f:
            n = sum(1 for _ in f)
        if n != check_lines:
            log(f"!! {cmd}: {n} output lines, expected {check_lines}")
            raise SystemExit(1)
    kb = None
    if rss:
        with open(rfile) as f:
            kb = int(f.read().split()[-1])
    return dt, kb


def med(v):
    return statistics.median(v)


def fmt_range(v, scale=1.0, digits=2):
    return f"{min(v) * scale:.{digits}f}–{max(v) * scale:.{digits}f}"


LOADS = {}  # benchmark -> load averages (1 min) sampled after each round


def rounds(contenders, warmup=False, tag=None):
    """contenders: list of (name, fn) -> {name: [results]} in alternation.

    warmup: run each contender once first and drop the result (for short
    contenders, where a cold page cache or binary would be most of a run)."""
    if warmup:
        for _, fn in contenders:
            fn()
    res = {name: [] for name, _ in contenders}
    loads = LOADS.setdefault(tag or "?", [loadavg()])
    for r in range(RUNS):
        k = r % len(contenders)
        order = contenders[k:] + contenders[:k]
        for name, fn in order:
            res[name].append(fn())
        loads.append(loadavg())
        log(f"   round {r + 1}/{RUNS} done (load {loads[-1]:.1f})")
    return res


def load_note(tag):
    v = LOADS.get(tag)
    if not v:
        return ""
    high = " — **a loaded machine**: compare the ratios, not the absolute times" if max(v) >= 4 else ""
    return f"Load average (1 min) over the rounds: {min(v):.1f}–{max(v):.1f}{high}.\n"


def cell(text):
    """A table cell: a | in a command would end the cell."""
    return text.replace("|", "\\|")


def write(name, text):
    with open(os.path.join(RESULTS, name), "w") as f:
        f.write(text)
    print(text, flush=True)


# --------------------------------------------------------------------------
def bench_throughput():
    log(f"== throughput: {N_TP} commands (GNU parallel: {N_PAR}), J=2 and J=16")
    cmds = os.path.join(WORK, "cmds.txt")
    with open(cmds, "w") as f:
        for i in range(N_TP):
            f.write(f"echo {i}\n")
    cmds_par = os.path.join(WORK, "cmds_par.txt")
    with open(cmds_par, "w") as f:
        for i in range(N_PAR):
            f.write(f"echo {i}\n")
    out = os.path.join(WORK, "tp.out")
    rows = []
    per = {}
    for j in (2, 16):
        job = os.path.join(WORK, f"tp{j}.yaml")
        with open(job, "w") as f:
            f.write(f"groups:\n  - name: tp\n    mode: sized\n    limit: {j}\n    tasks:\n")
            for i in range(N_TP):
                f.write(f"      - run: echo {i}\n")
        c = [
            ("floor", lambda: timed(f"{FLOOR} -j {j} < {cmds}", out=out, check_lines=N_TP)[0] / N_TP),
            ("grpx run (job file)", lambda: timed(f"{GRPX} run {job}", out=out, check_lines=N_TP)[0] / N_TP),
            ("grpx run, spools on tmpfs (TMPDIR=/dev/shm)",
             lambda: timed(f"TMPDIR=/dev/shm {GRPX} run {job}", out=out, check_lines=N_TP)[0] / N_TP),
            ("grpx sized -j J (stdin)", lambda: timed(f"{GRPX} sized -j {j} < {cmds}", out=out, check_lines=N_TP)[0] / N_TP),
            ("xargs -P J", lambda: timed(f"xargs -d '\\n' -n 1 -P {j} /bin/sh -c < {cmds}", out=out, check_lines=N_TP)[0] / N_TP),
            ("GNU parallel", lambda: timed(f"parallel --will-cite -j {j} < {cmds_par}", out=out, check_lines=N_PAR)[0] / N_PAR),
        ]
        if j > 2:
            c.insert(3, ("grpx sized -j J --limit J (stdin)",
                         lambda: timed(f"{GRPX} sized -j {j} --limit {j} < {cmds}", out=out, check_lines=N_TP)[0] / N_TP))
        log(f" J={j}")
        res = rounds(c, tag="throughput")
        per[j] = res
        fl = med(res["floor"])
        xa = med(res["xargs -P J"])
        g = med(res["grpx run (job file)"])
        metrics[f"tp_floor_{j}"] = g / fl
        metrics[f"tp_xargs_{j}"] = g / xa
        metrics[f"tp_parallel_{j}"] = med(res["GNU parallel"]) / g
        NOTES[f"tp_floor_{j}"] = f"floor {fl * 1e3:.3f} ms/command, grpx {g * 1e3:.3f}"
        NOTES[f"tp_xargs_{j}"] = f"xargs -P {xa * 1e3:.3f} ms/command"
        NOTES[f"tp_parallel_{j}"] = (f"the floor itself is {med(res['GNU parallel']) / fl:.1f}× faster "
                                     "than GNU parallel here")
        for name, v in res.items():
            rows.append((j, name, med(v) * 1e3, fmt_range(v, 1e3, 3), med(v) / fl, med(v) / xa,
                         med(res["GNU parallel"]) / med(v)))
    raw["throughput"] = {str(j): v for j, v in per.items()}
    t = [f"### Throughput: `echo N` commands, output captured\n",
         f"{N_TP} commands per run ({N_PAR} for GNU parallel, which is too slow for more here; "
         f"per-command times compare), median of {RUNS} alternating rounds. "
         "The floor (`floor.c`) only posix_spawns `/bin/sh -c CMD` in its own process group "
         "and drains its pipes with poll: the least any runner can do.\n",
         load_note("throughput"),
         "| J | runner | ms/command (median) | min–max | × floor | × xargs -P | parallel ÷ this |",
         "|---|---|---:|---|---:|---:|---:|"]
    for j, name, m, rg, xf, xx, xp in rows:
        t.append(f"| {j} | {name} | {m:.3f} | {rg} | {xf:.2f} | {xx:.2f} | {xp:.1f} |")
    write("throughput.md", "\n".join(t) + "\n")
    for j in (2, 16):
        SUMMARY.append((f"spawn throughput, J={j}",
                        f"{N_TP} `echo N` tasks of a `sized` job (limit {j}), stdout to a file, against the "
                        "bare spawn floor, `xargs -P`, GNU parallel",
                        f"{metrics[f'tp_floor_{j}']:.2f}× the floor, {metrics[f'tp_xargs_{j}']:.2f}× xargs, "
                        f"GNU parallel {metrics[f'tp_parallel_{j}']:.1f}× slower"))
    # chart data
    with open(os.path.join(RESULTS, "throughput.dat"), "w") as f:
        f.write("runner J2 J16\n")
        names = ["floor", "xargs -P J", "grpx run (job file)", "grpx sized -j J (stdin)", "GNU parallel"]
        for name in names:
            f.write(f"\"{name}\" {med(per[2][name]) * 1e3:.4f} {med(per[16][name]) * 1e3:.4f}\n")
    return rows


# --------------------------------------------------------------------------
def bench_scale():
    log(f"== scale: {N_SCALE} queued `true` tasks, limit 2 (RSS also at {N_SCALE_RSS})")
    lines = os.path.join(WORK, "true.txt")
    with open(lines, "w") as f:
        f.write("true\n" * N_SCALE)

    def job(n, path):
        with open(path, "w") as f:
            f.write("groups:\n  - name: scale\n    mode: sized\n    limit: 2\n    tasks:\n")
            f.write("      - run: 'true'\n" * n)
        return path
    j1 = job(N_SCALE, os.path.join(WORK, "scale.yaml"))
    res = rounds([
        ("floor", lambda: timed(f"{FLOOR} -j 2 < {lines}", rss=True)),
        ("grpx", lambda: timed(f"{GRPX} run {j1}", rss=True)),
    ], tag="scale")
    fl = [d for d, _ in res["floor"]]
    gx = [d for d, _ in res["grpx"]]
    gr = [k for _, k in res["grpx"]]
    frss = [k for _, k in res["floor"]]
    # One big run: the whole tree loaded and queued, peak RSS (wall is that of one run).
    j2 = job(N_SCALE_RSS, os.path.join(WORK, "scale_big.yaml"))
    big_t, big_kb = timed(f"{GRPX} run --timeout {'3s' if QUICK else '20s'} {j2}", rss=True, ok_codes=(0, 124))
    raw["scale"] = {"floor": res["floor"], "grpx": res["grpx"], "big": [big_t, big_kb]}
    t = ["### Scale: queued `true` tasks, `limit: 2`\n",
         f"{N_SCALE} tasks per run" + (f" ({N_SCALE_RSS} would take ~{N_SCALE_RSS * med(gx) / N_SCALE / 60:.0f} "
         "min per run here)" if N_SCALE < N_SCALE_RSS else "") + f", median of {RUNS} alternating rounds. "
         "Peak RSS: GNU time `%M` (max of the runner and what it waited for; the children are "
         "`sh`, under 2 MB).\n",
         load_note("scale"),
         "| runner | wall s (median) | min–max | × floor | peak RSS MB (median) |",
         "|---|---:|---|---:|---:|",
         f"| floor | {med(fl):.2f} | {fmt_range(fl)} | 1.00 | {med(frss) / 1024:.1f} |",
         f"| grpx | {med(gx):.2f} | {fmt_range(gx)} | {med(gx) / med(fl):.2f} | {med(gr) / 1024:.1f} |",
         "",
         f"{N_SCALE_RSS} tasks loaded and queued, run under `--timeout {'3s' if QUICK else '20s'}` "
         f"(one run, for the peak RSS of the whole tree): peak RSS **{big_kb / 1024:.1f} MB**, "
         f"wall {big_t:.1f} s."]
    write("scale.md", "\n".join(t) + "\n")
    metrics["scale_floor"] = med(gx) / med(fl)
    metrics["scale_rss_mb"] = big_kb / 1024
    SUMMARY.append(("scale", f"{N_SCALE} queued `true` tasks, limit 2, against the floor; peak RSS "
                    f"with {N_SCALE_RSS} tasks loaded and queued",
                    f"{med(gx) / med(fl):.2f}× the floor's wall; {big_kb / 1024:.0f} MB"))
    return med(gx) / med(fl), med(gr) / 1024, big_kb / 1024


# --------------------------------------------------------------------------
def pct(v, p):
    v = sorted(v)
    return v[min(len(v) - 1, int(len(v) * p))]


def grpx_lateness(n, seed):
    rnd = random.Random(seed)
    delays = [rnd.randrange(2000) for _ in range(n)]
    job = os.path.join(WORK, f"sched{n}.yaml")
    with open(job, "w") as f:
        f.write("groups:\n  - name: s\n    mode: schedule\n    tasks:\n")
        for i, d in enumerate(delays):
            f.write(f"      - {{name: t{i}, run: 'true', delay: {d}ms}}\n")
    rep = os.path.join(WORK, "sched.json")
    ev = os.path.join(WORK, "sched.ndjson")
    timed(f"{GRPX} run -q --report {rep} --events {ev} {job}")
    with open(rep) as f:
        g = json.load(f)["root"]["children"][0]
    late_rep = [c["start_ms"] - (g["start_ms"] + delays[i]) for i, c in enumerate(g["children"])]
    gstart, starts = None, {}
    with open(ev) as f:
        for line in f:
            e = json.loads(line)
            if e["event"] == "start":
                if e["path"] == "s":
                    gstart = e["t_ms"]
                elif e["path"].startswith("s/t"):
                    starts[int(e["path"][3:])] = e["t_ms"]
    late_ev = [starts[i] - (gstart + delays[i]) for i in range(n)]
    return ([pct(late_rep, .5) * 1e3, pct(late_rep, .99) * 1e3, max(late_rep) * 1e3],
            [pct(late_ev, .5) * 1e3, pct(late_ev, .99) * 1e3, max(late_ev) * 1e3])


def timer_floor(n, spawn):
    p = subprocess.run([TIMER_FLOOR, "-n", str(n), "-s", "2000", "-r", str(random.randrange(1 << 30))]
                       + (["-x"] if spawn else []), capture_output=True, text=True, check=True)
    d = dict(kv.split("=") for kv in p.stdout.split())
    return [float(d["p50_us"]), float(d["p99_us"]), float(d["max_us"])]


def bench_timers():
    sparse = max(N_TIMERS // 10, 100)
    log(f"== timers: {N_TIMERS} (and {sparse}) schedule children at random delays within 2 s")
    seeds = iter(range(1000))
    box = {}

    def g(n):
        rep, ev = grpx_lateness(n, next(seeds))
        box.setdefault(n, []).append(ev)
        return rep
    res = rounds([
        ("timer floor (heap + timerfd, no spawn)", lambda: timer_floor(N_TIMERS, False)),
        ("timer floor + posix_spawn(true) per deadline", lambda: timer_floor(N_TIMERS, True)),
        ("grpx schedule", lambda: g(N_TIMERS)),
        (f"timer floor, {sparse} deadlines, no spawn", lambda: timer_floor(sparse, False)),
        (f"timer floor + spawn, {sparse} deadlines", lambda: timer_floor(sparse, True)),
        (f"grpx schedule, {sparse} children", lambda: g(sparse)),
    ], tag="timers")
    res[f"grpx schedule (start event, µs clock)"] = box[N_TIMERS]
    res[f"grpx schedule, {sparse} children (start event, µs clock)"] = box[sparse]
    raw["timers"] = res
    t = ["### Timer lateness: schedule children at random delays within 2 s\n",
         "Lateness = task `start_ms` in the report − (group `start_ms` + delay); the report "
         "rounds to 0.1 ms. The *start event* rows use `--events` `t_ms` (µs), written just "
         "after `posix_spawn` returns. Every child is `true`: each fire costs one posix_spawn. "
         f"Median over {RUNS} rounds of each run's percentile, min–max beside.\n",
         load_note("timers"),
         "| contender | deadlines | p50 µs | p99 µs (min–max) | max µs |",
         "|---|---:|---:|---|---:|"]
    for name, v in res.items():
        n = sparse if str(sparse) in name else N_TIMERS
        p50 = [x[0] for x in v]
        p99 = [x[1] for x in v]
        mx = [x[2] for x in v]
        t.append(f"| {name} | {n} | {med(p50):.0f} | {med(p99):.0f} ({fmt_range(p99, 1, 0)}) | {med(mx):.0f} |")
    write("timers.md", "\n".join(t) + "\n")
    ev = res["grpx schedule (start event, µs clock)"]
    heap = res["timer floor (heap + timerfd, no spawn)"]
    metrics["timers_p50_us"] = med([x[0] for x in ev])
    metrics["timers_p99_x_heap"] = med([x[1] for x in ev]) / med([x[1] for x in heap])
    metrics["timers_p99_ms"] = med([x[1] for x in ev]) / 1e3
    spawn = res["timer floor + posix_spawn(true) per deadline"]
    NOTES["timers_p50_us"] = (f"the timer floor that spawns `true` per deadline: p50 "
                              f"{med([x[0] for x in spawn]):.0f} µs")
    NOTES["timers_p99_ms"] = (f"the timer floor that spawns `true` per deadline: p99 "
                              f"{med([x[1] for x in spawn]) / 1e3:.1f} ms")
    NOTES["timers_p99_x_heap"] = (f"grpx ÷ the spawning floor's p99: "
                                  f"{med([x[1] for x in ev]) / med([x[1] for x in spawn]):.2f}×")
    evs = res[f"grpx schedule, {sparse} children (start event, µs clock)"]
    spawns = res[f"timer floor + spawn, {sparse} deadlines"]
    m = lambda v, i: med([x[i] for x in v])
    SUMMARY.append(("timers", f"`schedule` children at random delays within 2 s (start events), "
                    "against a heap + timerfd floor that also spawns `true` at each deadline",
                    f"{N_TIMERS}: p99 {m(ev, 1) / m(spawn, 1):.2f}× the floor's; "
                    f"{sparse}: p50 {m(evs, 0):.0f} µs, p99 {m(evs, 1) / m(spawns, 1):.2f}× the floor's"))
    return res, sparse


# --------------------------------------------------------------------------
def bench_waterfall():
    log(f"== waterfall: {WF_BYTES} through head | cat | wc -c")
    nbytes = int(WF_BYTES[:-1]) << {"K": 10, "M": 20, "G": 30}[WF_BYTES[-1]]  # head -c's suffixes
    job = os.path.join(WORK, "wf.yaml")
    with open(job, "w") as f:
        f.write(f"groups:\n  - name: wf\n    mode: waterfall\n    tasks:\n"
                f"      - run: head -c {WF_BYTES} /dev/zero\n      - run: cat\n      - run: wc -c\n")
    out = os.path.join(WORK, "wf.out")
    tmp = os.environ.get("TMPDIR", "/tmp")

    def check():
        with open(out) as f:
            got = int(f.read().split()[0])
        if got != nbytes:
            log(f"!! waterfall output {got}, expected {nbytes}")
            raise SystemExit(1)

    def run(cmd):
        os.sync()  # start clean: no contender pays for another's dirty pages
        r = timed(cmd, rss=True, out=out)
        check()
        return r
    seq = (f"f1=$(mktemp -p {tmp}); f2=$(mktemp -p {tmp}); head -c {WF_BYTES} /dev/zero > $f1; "
           f"cat < $f1 > $f2; wc -c < $f2; rm -f $f1 $f2")
    res = rounds([
        ("shell pipeline (concurrent, pipes)", lambda: run(f"sh -c 'head -c {WF_BYTES} /dev/zero | cat | wc -c'")),
        ("shell, stages in turn via temp files", lambda: run(f"sh -c '{seq}'")),
        ("floor: stages in turn via O_TMPFILE handoffs", lambda: run(
            f"{WF_FLOOR} 'head -c {WF_BYTES} /dev/zero' cat 'wc -c'")),
        ("grpx waterfall", lambda: run(f"{GRPX} run {job}")),
    ], tag="waterfall")
    raw["waterfall"] = res
    t = [f"### Waterfall: {WF_BYTES} through `head -c {WF_BYTES} /dev/zero` → `cat` → `wc -c`\n",
         f"Throughput = bytes / wall time of the whole run; median of {RUNS} alternating rounds. "
         "Spools in `$TMPDIR` (" + tmp + "); the page cache is not dropped between rounds "
         "(a shared machine), so this row measures the VM's disk and cache as much as grpx: "
         "compare with the floor of the same run.\n",
         load_note("waterfall"),
         "| contender | GB/s (median) | min–max | wall s | peak RSS MB |",
         "|---|---:|---|---:|---:|"]
    for name, v in res.items():
        s = [d for d, _ in v]
        gbs = [nbytes / d / 1e9 for d in s]
        t.append(f"| {name} | {med(gbs):.2f} | {fmt_range(gbs)} | {med(s):.2f} | {med([k for _, k in v]) / 1024:.1f} |")
    # grpx's own share: from a stage's exit to the next stage's start
    evf = os.path.join(WORK, "wf.events")
    gaps = []
    for _ in range(RUNS):
        os.sync()
        timed(f"{GRPX} run --events {evf} {job}", out=out)
        ev = [json.loads(line) for line in open(evf)]
        ex = {e["path"]: e["t_ms"] for e in ev if e["event"] == "exit"}
        st = {e["path"]: e["t_ms"] for e in ev if e["event"] == "start"}
        gaps += [st[f"wf/{i + 1}"] - ex[f"wf/{i}"] for i in (1, 2)]
    t.append(f"\ngrpx between a stage's exit and the next stage's start (`--events`, {RUNS} runs, "
             f"2 handoffs each): median {med(gaps):.2f} ms, max {max(gaps):.2f} ms. The rest of the wall "
             "time is the stages' own work, which runs as fast under grpx as under the floor; the spread "
             "comes from the page cache of a shared machine (dirty-page writeback of other work).")
    write("waterfall.md", "\n".join(t) + "\n")
    s = [d for d, _ in res["grpx waterfall"]]
    fl = [d for d, _ in res["floor: stages in turn via O_TMPFILE handoffs"]]
    metrics["wf_gbs"] = nbytes / med(s) / 1e9
    metrics["wf_rss_mb"] = med([k for _, k in res["grpx waterfall"]]) / 1024
    NOTES["wf_gbs"] = (f"the handoff floor: {nbytes / med(fl) / 1e9:.2f} GB/s; "
                       f"{med(gaps):.2f} ms per handoff is grpx's own")
    SUMMARY.append(("waterfall", f"{WF_BYTES} through `head -c` → `cat` → `wc -c`, against a floor "
                    "doing the same handoffs through O_TMPFILE files",
                    f"{metrics['wf_gbs'] / (nbytes / med(fl) / 1e9):.2f}× the floor's rate; "
                    f"{med(gaps):.2f} ms per handoff; peak RSS {metrics['wf_rss_mb']:.1f} MB"))
    return nbytes / med(s) / 1e9, med([k for _, k in res["grpx waterfall"]]) / 1024, nbytes / med(fl) / 1e9


# --------------------------------------------------------------------------
def cancel_once(stubborn, grace_ms):
    job = os.path.join(WORK, f"cancel{int(stubborn)}.yaml")
    if stubborn:  # the grandchild ignores SIGTERM: only the SIGKILL after the grace ends it
        sib = "sh -c \"trap '' TERM; sleep 100\" & sleep 100"
    else:
        sib = "sleep 100 & sleep 100"
    with open(job, "w") as f:
        f.write(f"grace: {grace_ms}ms\ngroups:\n  - name: c\n    mode: errgroup\n    tasks:\n"
                f"      - {{name: bad, run: 'sleep 0.5; exit 1'}}\n")
        for i in range(100):
            f.write(f"      - {{name: s{i}, run: {json.dumps(sib)}}}\n")
    ev = os.path.join(WORK, "cancel.ndjson")
    timed(f"{GRPX} run -q --events {ev} {job}", ok_codes=(1,))
    fail_t, last = None, 0.0
    n = 0
    with open(ev) as f:
        for line in f:
            e = json.loads(line)
            if e["event"] != "exit":
                continue
            if e["path"] == "c/bad":
                fail_t = e["t_ms"]
            else:
                n += 1
                last = max(last, e["t_ms"])
    if n != 100:
        log(f"!! cancellation: {n} siblings reaped, expected 100")
        raise SystemExit(1)
    return last - fail_t


def bench_cancel():
    grace = GRACE_MS
    log("== cancellation: 100 siblings, each a process group with a grandchild")
    res = rounds([
        ("siblings obey SIGTERM", lambda: cancel_once(False, grace)),
        ("grandchildren ignore SIGTERM (SIGKILL after grace)", lambda: cancel_once(True, grace)),
    ], tag="cancel")
    raw["cancel"] = res
    t = ["### Cancellation: one child fails, 100 siblings canceled\n",
         f"Time from the failing child's `exit` event to the last sibling's `exit` event "
         f"(`--events`, t_ms), `grace: {grace}ms`; median of {RUNS} rounds.\n",
         load_note("cancel"),
         "| siblings | ms (median) | min–max |",
         "|---|---:|---|"]
    for name, v in res.items():
        t.append(f"| {name} | {med(v):.1f} | {fmt_range(v, 1, 1)} |")
    write("cancel.md", "\n".join(t) + "\n")
    metrics["cancel_ms"] = med(res["siblings obey SIGTERM"])
    metrics["cancel_stubborn_ms"] = med(res["grandchildren ignore SIGTERM (SIGKILL after grace)"])
    NOTES["cancel_stubborn_ms"] = (f"the siblings that obey SIGTERM are all reaped "
                                   f"{metrics['cancel_ms']:.0f} ms after the failure")
    SUMMARY.append(("cancel", f"one child fails, 100 siblings canceled, grace {grace} ms",
                    f"last sibling reaped {metrics['cancel_ms']:.0f} ms after the failure; "
                    f"{metrics['cancel_stubborn_ms'] - grace:.0f} ms past the grace when "
                    "grandchildren ignore SIGTERM"))
    return {k: med(v) for k, v in res.items()}, grace


# --------------------------------------------------------------------------
def bench_prefix():
    """Issue 11: prefix mode, one task printing N_PREFIX lines of 60 bytes,
    against sed adding the same tag, into a pipe (two readers)."""
    log(f"== prefix: {N_PREFIX} lines of 60 bytes through -o prefix and through sed")
    src = os.path.join(WORK, "lines60.txt")
    with open(src, "w") as f:
        for i in range(N_PREFIX):
            f.write(f"{i:08d} " + "x" * 50 + "\n")
    # An ad-hoc errgroup's task is tagged [errgroup/1]: sed adds the same
    # tag, so both contenders write the same bytes (checked once below).
    tag = "[errgroup/1] "
    nbytes = N_PREFIX * (60 + len(tag))
    grpx = f"{GRPX} errgroup -o prefix 'cat {src}'"
    sed = f"cat {src} | sed 's/^/[errgroup\\/1] /'"
    a, b = os.path.join(WORK, "prefix.grpx"), os.path.join(WORK, "prefix.sed")
    timed(f"{grpx} | cat", out=a)
    timed(f"{sed} | cat", out=b)
    if subprocess.run(["cmp", "-s", a, b]).returncode != 0 or os.path.getsize(a) != nbytes:
        log(f"!! prefix: grpx and sed outputs differ (or are not {nbytes} bytes): {a} {b}")
        raise SystemExit(1)
    os.unlink(a)
    os.unlink(b)
    wc_out = os.path.join(WORK, "prefix.wc")

    def wc(cmd):
        d = timed(f"{cmd} | wc -c", out=wc_out)[0]
        with open(wc_out) as f:
            got = int(f.read().split()[0])
        if got != nbytes:
            log(f"!! prefix: {cmd} | wc -c gave {got}, expected {nbytes}")
            raise SystemExit(1)
        return d
    res = rounds([
        ("grpx -o prefix | cat >/dev/null", lambda: timed(f"{grpx} | cat >/dev/null")[0]),
        ("sed | cat >/dev/null", lambda: timed(f"{sed} | cat >/dev/null")[0]),
        ("grpx -o prefix | wc -c", lambda: wc(grpx)),
        ("sed | wc -c", lambda: wc(sed)),
        ("no tagging: cat | cat >/dev/null", lambda: timed(f"cat {src} | cat >/dev/null")[0]),
    ], warmup=True, tag="prefix")
    raw["prefix"] = res
    pipe = med(res["grpx -o prefix | cat >/dev/null"]) / med(res["sed | cat >/dev/null"])
    wcr = med(res["grpx -o prefix | wc -c"]) / med(res["sed | wc -c"])
    metrics["prefix_sed_pipe"] = pipe
    metrics["prefix_sed_wc"] = wcr
    t = [f"### Prefix mode: {N_PREFIX} lines of 60 bytes, tagged, into a pipe\n",
         f"`grpx errgroup -o prefix 'cat FILE'` against `cat FILE | sed 's/^/[errgroup\\/1] /'` "
         f"(the same tag, so both write the same {nbytes} bytes: compared with `cmp` once before "
         f"the rounds), each into `cat >/dev/null` and into `wc -c` (byte count checked every "
         f"round); wall of the whole pipeline, one warm-up run, median of {RUNS} alternating "
         f"rounds. Locale: LANG={os.environ.get('LANG', '')!s} LC_ALL={os.environ.get('LC_ALL', '')!s}.\n",
         load_note("prefix"),
         "| contender | s (median) | min–max | MB/s out | × sed (same reader) |",
         "|---|---:|---|---:|---:|"]
    peer = {"grpx -o prefix | cat >/dev/null": "sed | cat >/dev/null",
            "grpx -o prefix | wc -c": "sed | wc -c"}
    for name, v in res.items():
        ratio = f"{med(v) / med(res[peer[name]]):.2f}" if name in peer else ""
        t.append(f"| {cell(name)} | {med(v):.3f} | {fmt_range(v, 1, 3)} | {nbytes / med(v) / 1e6:.0f} | {ratio} |")
    write("prefix.md", "\n".join(t) + "\n")
    SUMMARY.append(("prefix output", f"one task printing {N_PREFIX} lines of 60 bytes, `-o prefix`, against "
                    "`sed` adding the same tag, into a pipe",
                    f"{pipe:.2f}× sed into `cat`, {wcr:.2f}× into `wc -c`"))


# --------------------------------------------------------------------------
STALL_S = 3  # how long the sleeping reader sleeps before it drains
SLOW_READ_S = 4  # how long the slow reader reads before it goes away

SLOW_READER = """
import os, sys, time
fd = os.open(sys.argv[1], os.O_RDONLY)
end = time.monotonic() + float(sys.argv[2])
while time.monotonic() < end:
    os.read(fd, 65536)
    time.sleep(65536 / 5e6)
"""


def stall_once(mode, sibling, reader, tmpdir=None):
    """One run of an errgroup-like sized group: a sibling that writes a lot
    and `sleep 100` with `timeout: 1s`, stdout to READER.  Returns the
    lateness in ms: t_ms of the timed-out task's exit event - 1000, and the
    same from the task's own start event."""
    job = os.path.join(WORK, "stall.yaml")
    with open(job, "w") as f:
        f.write("groups:\n  - name: g\n    mode: sized\n    tasks:\n"
                f"      - {{name: big, run: {json.dumps(sibling)}}}\n"
                "      - {name: slow, run: 'sleep 100', timeout: 1s}\n")
    ev = os.path.join(WORK, "stall.ndjson")
    if os.path.exists(ev):
        os.unlink(ev)
    fifo = os.path.join(WORK, "stall.fifo")
    if os.path.exists(fifo):
        os.unlink(fifo)
    os.mkfifo(fifo)
    env = f"TMPDIR={tmpdir} " if tmpdir else ""
    g = f"{env}{GRPX} run -o {mode} --events {ev} {job}"
    if reader == "fast":
        cmd, ok = f"{g} | cat >/dev/null", (0,)  # the pipeline's status is cat's
    elif reader == "asleep":
        # opens the FIFO at once, reads nothing for STALL_S, then drains
        cmd = f"( exec 3<{fifo}; sleep {STALL_S}; cat <&3 >/dev/null ) & {g} >{fifo}; rc=$?; wait; exit $rc"
        ok = (1,)
    else:
        # reads about 5 MB/s for SLOW_READ_S, then goes away: grpx dies by
        # SIGPIPE (141), as in a pipeline
        rd = os.path.join(WORK, "slow_reader.py")
        with open(rd, "w") as f:
            f.write(SLOW_READER)
        cmd = f"python3 {rd} {fifo} {SLOW_READ_S} & {g} >{fifo}; rc=$?; wait; exit $rc"
        ok = (141,)
    timed(cmd, ok_codes=ok)
    start = exit_ = None
    with open(ev) as f:
        for line in f:
            e = json.loads(line)
            if e.get("path") != "g/slow":
                continue
            if e["event"] == "start" and start is None:
                start = e["t_ms"]
            elif e["event"] == "exit" and exit_ is None:
                exit_ = e["t_ms"]
                if e.get("status") != "timeout":
                    log(f"!! stall: g/slow ended {e.get('status')}, expected timeout")
                    raise SystemExit(1)
    if exit_ is None:  # grpx died before the timeout's exit event
        log(f"!! stall ({mode}, {reader}): no exit event for g/slow before grpx ended")
        return (float("inf"), float("inf"))
    return (exit_ - 1000, exit_ - start - 1000)


def bench_stall():
    """Issue 11: how late a 1 s task timeout fires when grpx's reader stalls."""
    log("== stall: 1 s task timeout behind a stalled or slow reader")
    seq = "seq 1 3000000"
    res = rounds([
        ("fast reader (`| cat`), prefix, seq sibling", lambda: stall_once("prefix", seq, "fast")),
        (f"FIFO reader asleep {STALL_S} s, prefix, seq sibling", lambda: stall_once("prefix", seq, "asleep")),
        (f"FIFO reader asleep {STALL_S} s, grouped, seq sibling", lambda: stall_once("grouped", seq, "asleep")),
        ("5 MB/s reader, grouped, 300 MB sibling", lambda: stall_once(
            "grouped", "head -c 300000000 /dev/zero", "slow", tmpdir=WORK)),
        ("5 MB/s reader, prefix, `yes` sibling", lambda: stall_once(
            "prefix", "yes | head -c 300000000", "slow")),
    ], tag="stall")
    raw["stall"] = res
    keys = {f"FIFO reader asleep {STALL_S} s, prefix, seq sibling": "stall_sleep_prefix",
            f"FIFO reader asleep {STALL_S} s, grouped, seq sibling": "stall_sleep_grouped",
            "5 MB/s reader, grouped, 300 MB sibling": "stall_slow_grouped",
            "5 MB/s reader, prefix, `yes` sibling": "stall_slow_prefix"}
    t = ["### Stalled reader: how late a 1 s task timeout fires\n",
         "A `sized` group: a sibling that writes a lot (`seq 1 3000000`: 21 MB of lines; "
         "`head -c 300000000 /dev/zero` grouped, its spool in `$TMPDIR` on disk; "
         "`yes | head -c 300000000` in prefix) and `sleep 100` with `timeout: 1s`. "
         f"grpx's stdout is a FIFO whose reader sleeps {STALL_S} s before it drains, or one "
         f"that reads 64 KiB every 13 ms (~5 MB/s) for {SLOW_READ_S} s and then goes away "
         "(grpx dies by SIGPIPE, as in a pipeline). Lateness = `t_ms` of the timed-out "
         "task's `exit` event (`--events FILE`) − 1000 ms, from the run's start (this includes "
         "the time to spawn the task, slow on a loaded machine) and from the task's own `start` "
         "event (where its timeout counts from: the target is on this column's worst round). "
         "The first row, a fast reader, is what the timer, SIGTERM and the reap cost on this "
         f"machine with nothing stalled. {RUNS} alternating rounds.\n",
         load_note("stall"),
         "| reader, output mode, sibling | late from the run's start ms (median) | (max) "
         "| late from the task's start ms (median) | (max) |",
         "|---|---:|---:|---:|---:|"]
    for name, v in res.items():
        late = [x[0] for x in v]
        fs = [x[1] for x in v]
        t.append(f"| {cell(name)} | {med(late):.1f} | {max(late):.1f} | {med(fs):.1f} | {max(fs):.1f} |")
        if name in keys:
            # The timeout counts from the task's own start; the spawn
            # before it (slow on a loaded machine) is in the note.
            metrics[keys[name]] = max(fs)
            NOTES[keys[name]] = f"from the run's start: {max(late):.0f} ms at worst"
    write("stall.md", "\n".join(t) + "\n")
    base = med([x[1] for x in res["fast reader (`| cat`), prefix, seq sibling"]])
    worst = max(metrics[k] for k in keys.values())
    SUMMARY.append(("stalled reader", f"a 1 s task timeout while grpx's stdout is a FIFO whose reader "
                    f"sleeps, or reads 5 MB/s behind a big sibling; `exit` event − 1000 ms",
                    f"late by {worst:.0f} ms at worst (with a fast reader: {base:.0f} ms)"))


# --------------------------------------------------------------------------
def bench_fanout():
    """Issue 12: one command over many inputs from stdin."""
    log(f"== fan-out: seq {N_FANOUT} | grpx sized -j2 'echo {{}}' (GNU parallel: {N_FANOUT_PAR})")
    out = os.path.join(WORK, "fanout.out")
    cmds = os.path.join(WORK, "fanout_cmds.txt")
    with open(cmds, "w") as f:
        for i in range(1, N_FANOUT + 1):
            f.write(f"echo {i}\n")
    n, npar = N_FANOUT, N_FANOUT_PAR
    res = rounds([
        ("grpx sized -j2 'echo {}'",
         lambda: timed(f"seq {n} | {GRPX} sized -j2 'echo {{}}'", out=out, check_lines=n)[0] / n),
        ("xargs -P2 -I{} sh -c 'echo {}'",
         lambda: timed(f"seq {n} | xargs -P2 -I{{}} sh -c 'echo {{}}'", out=out, check_lines=n)[0] / n),
        ("GNU parallel -j2 echo {}",
         lambda: timed(f"seq {npar} | parallel --will-cite -j2 echo {{}}", out=out, check_lines=npar)[0] / npar),
        ("floor -j 2 (the same commands, pre-built)",
         lambda: timed(f"{FLOOR} -j 2 < {cmds}", out=out, check_lines=n)[0] / n),
    ], tag="fanout")
    raw["fanout"] = res
    xa = med(res["xargs -P2 -I{} sh -c 'echo {}'"])
    metrics["fanout_xargs"] = med(res["grpx sized -j2 'echo {}'"]) / xa
    t = [f"### Fan-out: one command over {N_FANOUT} inputs from stdin\n",
         f"`seq {N_FANOUT} | grpx sized -j2 'echo {{}}'` against "
         f"`seq {N_FANOUT} | xargs -P2 -I{{}} sh -c 'echo {{}}'`, GNU parallel on {N_FANOUT_PAR} "
         "inputs (per-input times compare) and the spawn floor on the same commands written out; "
         f"stdout to a file whose line count is checked; median of {RUNS} alternating rounds. "
         "Every contender starts one `/bin/sh -c` per input.\n",
         load_note("fanout"),
         "| contender | ms/input (median) | min–max | × xargs | × floor |",
         "|---|---:|---|---:|---:|"]
    fl = med(res["floor -j 2 (the same commands, pre-built)"])
    for name, v in res.items():
        t.append(f"| {name} | {med(v) * 1e3:.3f} | {fmt_range(v, 1e3, 3)} | {med(v) / xa:.2f} | {med(v) / fl:.2f} |")
    g = med(res["grpx sized -j2 'echo {}'"])
    SUMMARY.append(("fan-out", f"`seq {N_FANOUT} | grpx sized -j2 'echo {{}}'` against "
                    "`xargs -P2 -I{} sh -c 'echo {}'` and GNU parallel",
                    f"{g / xa:.2f}× xargs, {g / fl:.2f}× the floor, "
                    f"GNU parallel {med(res['GNU parallel -j2 echo {}']) / g:.1f}× slower"))
    t += first_task_table()
    write("fanout.md", "\n".join(t) + "\n")


FIRST_HOLD_S = 3.0  # how long stdin stays open waiting for the first task
FIRST_IDLE_S = 0.5  # the runner's head start in the "already waiting" column


def first_task(template, idle):
    """Start a runner whose tasks write their input into a FIFO, with its
    stdin a pipe that stays open; write one input, IDLE seconds after the
    runner was started.  Returns the seconds from that write until the
    first task's bytes reach the FIFO (inf if none within FIRST_HOLD_S:
    the runner waits for the end of its input)."""
    fifo = os.path.join(WORK, "first.fifo")
    if not os.path.exists(fifo):
        os.mkfifo(fifo)
    # O_RDWR: the FIFO always has a writer, so select() waits for data
    # instead of reporting the end of a writer that has not come yet.
    rfd = os.open(fifo, os.O_RDWR | os.O_NONBLOCK)
    r, w = os.pipe()
    err = os.path.join(WORK, "first.err")
    with open(err, "wb") as fe:
        t0 = time.perf_counter()
        p = subprocess.Popen(["/bin/sh", "-c", template.replace("FIFO", fifo)],
                             stdin=r, stdout=subprocess.DEVNULL, stderr=fe)
    os.close(r)
    if idle:
        time.sleep(idle)
        t0 = time.perf_counter()
    os.write(w, b"1\n")
    ready, _, _ = select.select([rfd], [], [], FIRST_HOLD_S)
    dt = time.perf_counter() - t0 if ready else float("inf")
    os.close(w)  # the end of the input: the runner finishes and exits
    rc = p.wait(timeout=60)
    got = b""
    try:
        while True:
            chunk = os.read(rfd, 4096)
            if not chunk:
                break
            got += chunk
    except BlockingIOError:
        pass
    os.close(rfd)
    if rc != 0 or got != b"1\n":
        with open(err, "rb") as fe:
            msg = fe.read().decode(errors="replace")[-2000:]
        log(f"!! first task: exit {rc}, FIFO got {got!r}: {template}\n{msg}")
        raise SystemExit(1)
    return dt


FIRST_CONTENDERS = [
    ("grpx sized -j2 'echo {} >FIFO'", "{grpx} sized -j2 'echo {{}} >FIFO'"),
    ("xargs -P2 -I{} sh -c 'echo {} >FIFO'", "xargs -P2 -I{{}} sh -c 'echo {{}} >FIFO'"),
    ("GNU parallel -j2 'echo {} >FIFO'", "parallel --will-cite -j2 'echo {{}} >FIFO'"),
    ("floor: while read x; do sh -c 'echo $x >FIFO'; done",
     "while read x; do sh -c \"echo $x >FIFO\"; done"),
]


def first_task_table():
    """Issue 12: inputs stream; the first task starts with the first input."""
    log("== fan-out: first-task latency while stdin stays open")
    c = []
    for name, tmpl in FIRST_CONTENDERS:
        cmd = tmpl.format(grpx=GRPX)
        c.append((name, lambda cmd=cmd: (first_task(cmd, 0), first_task(cmd, FIRST_IDLE_S))))
    res = rounds(c, warmup=True, tag="fanout_first")
    raw["fanout_first"] = res
    gx = res[FIRST_CONTENDERS[0][0]]
    xa = res[FIRST_CONTENDERS[1][0]]
    m = lambda v, i: med([x[i] for x in v])
    metrics["first_xargs"] = m(gx, 0) / m(xa, 0)
    metrics["first_ms"] = max(x[1] for x in gx) * 1e3
    t = ["\n### Fan-out: first-task latency while the input streams\n",
         "The runner's stdin is a pipe that stays open (like `tail -f log | grpx sized ...`); one "
         "input is written, and the latency is the time until the first task's `echo` reaches a "
         "FIFO read by the benchmark (`select`, µs clock). *At once*: the input is written as the "
         "runner is started (its start-up counts, as for a user); *runner waiting*: written "
         f"{FIRST_IDLE_S} s after, from that write. A runner that waits for the end of its input "
         f"would show ∞ (given up after {FIRST_HOLD_S:g} s). One warm-up run, median of {RUNS} "
         "alternating rounds.\n",
         load_note("fanout_first"),
         "| contender | at once ms (median) | min–max | runner waiting ms (median) | min–max | × xargs (at once) |",
         "|---|---:|---|---:|---|---:|"]
    for name, v in res.items():
        a = [x[0] for x in v]
        b = [x[1] for x in v]
        t.append(f"| {cell(name)} | {med(a) * 1e3:.1f} | {fmt_range(a, 1e3, 1)} | "
                 f"{med(b) * 1e3:.1f} | {fmt_range(b, 1e3, 1)} | {med(a) / m(xa, 0):.2f} |")
    SUMMARY.append(("fan-out, first task", "one input into a runner whose stdin stays open; time until "
                    "the first task writes it, against xargs -P2 and GNU parallel",
                    f"{m(gx, 0) * 1e3:.1f} ms ({m(gx, 1) * 1e3:.1f} ms with the runner already "
                    f"waiting): {metrics['first_xargs']:.2f}× xargs, GNU parallel "
                    f"{m(res[FIRST_CONTENDERS[2][0]], 0) / m(gx, 0):.1f}× slower"))
    return t


# --------------------------------------------------------------------------
def bench_matrix():
    """Issue 12: loading a matrix of MATRIX_SIDE x MATRIX_SIDE combinations."""
    n = MATRIX_SIDE * MATRIX_SIDE
    log(f"== matrix: load a {MATRIX_SIDE} x {MATRIX_SIDE} matrix ({n} combinations)")
    mx = os.path.join(WORK, "matrix.yaml")
    with open(mx, "w") as f:
        f.write("groups:\n  - name: m\n    mode: sized\n    matrix:\n")
        for v in ("a", "b"):
            f.write(f"      {v}: [" + ", ".join(f"{v}{i}" for i in range(MATRIX_SIDE)) + "]\n")
        f.write("    template:\n      name: 't-{a}-{b}'\n      run: echo {a} {b}\n")
    flat = os.path.join(WORK, "flat.yaml")
    with open(flat, "w") as f:
        f.write("groups:\n  - name: m\n    mode: sized\n    tasks:\n")
        for a in range(MATRIX_SIDE):
            for b in range(MATRIX_SIDE):
                f.write(f"      - {{name: t-a{a}-b{b}, run: echo a{a} b{b}}}\n")
    plan = os.path.join(WORK, "matrix.plan")
    timed(f"{GRPX} plan {mx}", out=plan)
    with open(plan) as f:
        got = sum(1 for line in f if " task: echo a" in line)
    if got != n:
        log(f"!! matrix: plan shows {got} tasks, expected {n}")
        raise SystemExit(1)
    res = rounds([
        ("grpx check (matrix)", lambda: timed(f"{GRPX} check {mx}", rss=True)),
        ("grpx plan (matrix) >/dev/null", lambda: timed(f"{GRPX} plan {mx}", rss=True)),
        ("grpx check (the same tasks written out)", lambda: timed(f"{GRPX} check {flat}", rss=True)),
        ("grpx plan (the same tasks written out) >/dev/null", lambda: timed(f"{GRPX} plan {flat}", rss=True)),
    ], warmup=True, tag="matrix")
    raw["matrix"] = res
    metrics["matrix_check_s"] = med([d for d, _ in res["grpx check (matrix)"]])
    metrics["matrix_plan_s"] = med([d for d, _ in res["grpx plan (matrix) >/dev/null"]])
    t = [f"### Matrix: loading {n} combinations ({MATRIX_SIDE} × {MATRIX_SIDE})\n",
         "A `sized` group with `matrix: {a: [...], b: [...]}` and a `template:` naming each "
         "child `t-{a}-{b}` and running `echo {a} {b}`; the reference is the same "
         f"{n} tasks written out in the job file. Wall and peak RSS (GNU time) of the whole "
         f"command, one warm-up run, median of {RUNS} alternating rounds.\n",
         load_note("matrix"),
         "| contender | wall s (median) | min–max | peak RSS MB |",
         "|---|---:|---|---:|"]
    for name, v in res.items():
        s = [d for d, _ in v]
        t.append(f"| {name} | {med(s):.3f} | {fmt_range(s, 1, 3)} | {med([k for _, k in v]) / 1024:.1f} |")
    write("matrix.md", "\n".join(t) + "\n")
    flat_s = med([d for d, _ in res["grpx check (the same tasks written out)"]])
    flat_p = med([d for d, _ in res["grpx plan (the same tasks written out) >/dev/null"]])
    SUMMARY.append(("matrix load", f"`grpx plan` and `grpx check` of a job whose matrix has {n} "
                    "combinations, against the same tasks written out",
                    f"plan {metrics['matrix_plan_s']:.3f} s ({metrics['matrix_plan_s'] / flat_p:.2f}× written out), "
                    f"check {metrics['matrix_check_s']:.3f} s ({metrics['matrix_check_s'] / flat_s:.2f}×)"))


# --------------------------------------------------------------------------
BENCHES = [("throughput", bench_throughput), ("scale", bench_scale), ("timers", bench_timers),
           ("waterfall", bench_waterfall), ("cancel", bench_cancel), ("prefix", bench_prefix),
           ("stall", bench_stall), ("fanout", bench_fanout), ("matrix", bench_matrix)]


def main():
    unknown = ONLY - {name for name, _ in BENCHES}
    if unknown:
        log(f"bench.py: no such benchmark: {', '.join(sorted(unknown))} "
            f"(known: {' '.join(name for name, _ in BENCHES)})")
        raise SystemExit(2)
    for name, fn in BENCHES:
        if not ONLY or name in ONLY:
            fn()
    raw["loadavg"] = LOADS
    raw["metrics"] = metrics
    raw["notes"] = NOTES
    with open(os.path.join(RESULTS, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    summary()
    targets()


def summary():
    """summary.md: each benchmark in terms of its method and its ratios
    against peers of the same run (the README's Performance table)."""
    loads = [x for v in LOADS.values() for x in v]
    t = ["| benchmark | method: grpx against peers in the same run | result (medians of alternating rounds) |",
         "|---|---|---|"]
    t += [f"| {b} | {cell(m)} | {r} |" for b, m, r in SUMMARY]
    t.append(f"\nSizes: RUNS={RUNS} N_THROUGHPUT={N_TP} N_SCALE={N_SCALE} N_SCALE_RSS={N_SCALE_RSS} "
             f"N_TIMERS={N_TIMERS} WF_BYTES={WF_BYTES} N_PREFIX={N_PREFIX} N_FANOUT={N_FANOUT} "
             f"MATRIX_SIDE={MATRIX_SIDE}" + (" (QUICK=1)" if QUICK else "")
             + (f"; only: {', '.join(sorted(ONLY))}" if ONLY else "") + ".")
    if loads:
        t.append(f"\nLoad average (1 min) during the run: {min(loads):.1f}–{max(loads):.1f} on {os.cpu_count()} CPUs"
                 + (" — a loaded, shared machine: the ratios hold better than the absolute times."
                    if max(loads) >= 4 else "."))
    if raw["interference"]:
        t.append(f"\n{len(raw['interference'])} measurement(s) were killed by SIGKILL from outside and "
                 "measured again (listed in raw.json, `interference`).")
    write("summary.md", "\n".join(t) + "\n")


def num(v):
    """A measured value with the digits a verdict needs: 1.052× is not
    within 1.05×, though `%.3g` would print it as 1.05."""
    return f"{v:.3f}" if v < 10 else f"{v:.1f}" if v < 1000 else f"{v:.0f}"


def targets():
    """targets.md: the one table of targets, with this run's values."""
    ops = {"<=": (lambda a, b: a <= b, "≤"), "<": (lambda a, b: a < b, "<"), ">=": (lambda a, b: a >= b, "≥")}
    t = ["| target | source | threshold | measured | verdict | peers in the same run |",
         "|---|---|---:|---:|---|---|"]
    for key, op, thr, unit, what, src in TARGETS:
        if key not in metrics:
            continue
        v = metrics[key]
        test, sym = ops[op]
        t.append(f"| {cell(what)} | {src} | {sym} {thr:g}{unit} | {num(v)}{unit} | "
                 f"{'met' if test(v, thr) else '**not met**'} | {cell(NOTES.get(key, ''))} |")
    write("targets.md", "\n".join(t) + "\n")


if __name__ == "__main__":
    main()
