#!/usr/bin/env python3
"""bench.py - the benchmarks of issue 7, driven by bench/run.sh.

Every benchmark runs its contenders in alternation, round after round
(the order rotates each round), so that a noisy neighbour hits them all
alike.  Reported: the median over the rounds, the min-max beside it, and
ratios computed from the medians of the same invocation.

Environment (set by run.sh): GRPX, FLOOR, TIMER_FLOOR, WF_FLOOR, RESULTS, WORK,
QUICK=1 for a smoke run; RUNS, N_THROUGHPUT, N_SCALE, N_TIMERS to override.
"""
import json
import os
import random
import re
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
ONLY = set(filter(None, os.environ.get("ONLY", "").split(",")))

os.makedirs(RESULTS, exist_ok=True)
os.makedirs(WORK, exist_ok=True)
raw = {}


def log(*a):
    print(*a, file=sys.stderr, flush=True)


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
        # SIGKILLed from outside (a shared machine): measure again.
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


def rounds(contenders):
    """contenders: list of (name, fn) -> {name: [results]} in alternation."""
    res = {name: [] for name, _ in contenders}
    for r in range(RUNS):
        k = r % len(contenders)
        order = contenders[k:] + contenders[:k]
        for name, fn in order:
            res[name].append(fn())
        log(f"   round {r + 1}/{RUNS} done")
    return res


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
        res = rounds(c)
        per[j] = res
        fl = med(res["floor"])
        xa = med(res["xargs -P J"])
        for name, v in res.items():
            rows.append((j, name, med(v) * 1e3, fmt_range(v, 1e3, 3), med(v) / fl, med(v) / xa,
                         med(res["GNU parallel"]) / med(v)))
    raw["throughput"] = {str(j): v for j, v in per.items()}
    t = [f"### Throughput: `echo N` commands, output captured\n",
         f"{N_TP} commands per run ({N_PAR} for GNU parallel, which is too slow for more here; "
         f"per-command times compare), median of {RUNS} alternating rounds.\n",
         "| J | runner | ms/command (median) | min–max | × floor | × xargs -P | parallel ÷ this |",
         "|---|---|---:|---|---:|---:|---:|"]
    for j, name, m, rg, xf, xx, xp in rows:
        t.append(f"| {j} | {name} | {m:.3f} | {rg} | {xf:.2f} | {xx:.2f} | {xp:.1f} |")
    write("throughput.md", "\n".join(t) + "\n")
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
    ])
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
         "| runner | wall s (median) | min–max | × floor | peak RSS MB (median) |",
         "|---|---:|---|---:|---:|",
         f"| floor | {med(fl):.2f} | {fmt_range(fl)} | 1.00 | {med(frss) / 1024:.1f} |",
         f"| grpx | {med(gx):.2f} | {fmt_range(gx)} | {med(gx) / med(fl):.2f} | {med(gr) / 1024:.1f} |",
         "",
         f"{N_SCALE_RSS} tasks loaded and queued, run under `--timeout {'3s' if QUICK else '20s'}` "
         f"(one run, for the peak RSS of the whole tree): peak RSS **{big_kb / 1024:.1f} MB**, "
         f"wall {big_t:.1f} s."]
    write("scale.md", "\n".join(t) + "\n")
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
    ])
    res[f"grpx schedule (start event, µs clock)"] = box[N_TIMERS]
    res[f"grpx schedule, {sparse} children (start event, µs clock)"] = box[sparse]
    raw["timers"] = res
    t = ["### Timer lateness: schedule children at random delays within 2 s\n",
         "Lateness = task `start_ms` in the report − (group `start_ms` + delay); the report "
         "rounds to 0.1 ms. The *start event* rows use `--events` `t_ms` (µs), written just "
         "after `posix_spawn` returns. Every child is `true`: each fire costs one posix_spawn. "
         f"Median over {RUNS} rounds of each run's percentile, min–max beside.\n",
         "| contender | deadlines | p50 µs | p99 µs (min–max) | max µs |",
         "|---|---:|---:|---|---:|"]
    for name, v in res.items():
        n = sparse if str(sparse) in name else N_TIMERS
        p50 = [x[0] for x in v]
        p99 = [x[1] for x in v]
        mx = [x[2] for x in v]
        t.append(f"| {name} | {n} | {med(p50):.0f} | {med(p99):.0f} ({fmt_range(p99, 1, 0)}) | {med(mx):.0f} |")
    write("timers.md", "\n".join(t) + "\n")
    return res, sparse


# --------------------------------------------------------------------------
def bench_waterfall():
    log(f"== waterfall: {WF_BYTES} through head | cat | wc -c")
    nbytes = {"1G": 1 << 30, "128M": 128 << 20}[WF_BYTES]
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
    ])
    raw["waterfall"] = res
    t = [f"### Waterfall: {WF_BYTES} through `head -c {WF_BYTES} /dev/zero` → `cat` → `wc -c`\n",
         f"Throughput = bytes / wall time of the whole run; median of {RUNS} alternating rounds. "
         "Spools in `$TMPDIR` (" + tmp + ", ext4).\n",
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
    grace = 1000
    log("== cancellation: 100 siblings, each a process group with a grandchild")
    res = rounds([
        ("siblings obey SIGTERM", lambda: cancel_once(False, grace)),
        ("grandchildren ignore SIGTERM (SIGKILL after grace)", lambda: cancel_once(True, grace)),
    ])
    raw["cancel"] = res
    t = ["### Cancellation: one child fails, 100 siblings canceled\n",
         f"Time from the failing child's `exit` event to the last sibling's `exit` event "
         f"(`--events`, t_ms), `grace: {grace}ms`; median of {RUNS} rounds.\n",
         "| siblings | ms (median) | min–max | target (grace + 50 ms) |",
         "|---|---:|---|---|"]
    for name, v in res.items():
        t.append(f"| {name} | {med(v):.1f} | {fmt_range(v, 1, 1)} | {'met' if max(v) <= grace + 50 else 'NOT met'} (≤ {grace + 50}) |")
    write("cancel.md", "\n".join(t) + "\n")
    return {k: med(v) for k, v in res.items()}, grace


# --------------------------------------------------------------------------
def main():
    summary = {}
    if not ONLY or "throughput" in ONLY:
        summary["throughput"] = bench_throughput()
    if not ONLY or "scale" in ONLY:
        summary["scale"] = bench_scale()
    if not ONLY or "timers" in ONLY:
        summary["timers"] = bench_timers()
    if not ONLY or "waterfall" in ONLY:
        summary["waterfall"] = bench_waterfall()
    if not ONLY or "cancel" in ONLY:
        summary["cancel"] = bench_cancel()
    with open(os.path.join(RESULTS, "raw.json"), "w") as f:
        json.dump(raw, f, indent=1)
    headline(summary)


def headline(s):
    t = ["| benchmark | grpx | reference | ratio / verdict |", "|---|---|---|---|"]
    if "throughput" in s:
        for j in (2, 16):
            r = {name: (m, xf, xx, xp) for jj, name, m, _, xf, xx, xp in s["throughput"] if jj == j}
            g = r["grpx run (job file)"]
            t.append(f"| throughput J={j}, `echo` ×{N_TP} | {g[0]:.2f} ms/cmd | floor {r['floor'][0]:.2f}, "
                     f"xargs -P {r['xargs -P J'][0]:.2f}, GNU parallel {r['GNU parallel'][0]:.2f} ms/cmd | "
                     f"{g[1]:.2f}× floor, {g[2]:.2f}× xargs, {g[3]:.1f}× faster than parallel |")
    if "scale" in s:
        ratio, rss, big = s["scale"]
        t.append(f"| scale: {N_SCALE} queued `true`, limit 2 | {ratio:.2f}× floor wall | peak RSS {rss:.1f} MB; "
                 f"{big:.1f} MB with {N_SCALE_RSS} queued | {'met' if ratio <= 1.15 else 'not met'} (≤ 1.15×), "
                 f"{'met' if big < 64 else 'not met'} (< 64 MB) |")
    if "timers" in s:
        res, sparse = s["timers"]
        g = res["grpx schedule"]
        fl = res["timer floor (heap + timerfd, no spawn)"]
        fx = res["timer floor + posix_spawn(true) per deadline"]
        gs = res[f"grpx schedule, {sparse} children"]
        fs = res[f"timer floor + spawn, {sparse} deadlines"]
        m = lambda v, i: med([x[i] for x in v])
        t.append(f"| timers: {N_TIMERS} schedule children in 2 s | p50 {m(g, 0) / 1e3:.0f} ms, p99 {m(g, 1) / 1e3:.0f} ms | "
                 f"heap floor p99 {m(fl, 1) / 1e3:.2f} ms; heap+spawn floor p50 {m(fx, 0) / 1e3:.0f} ms, p99 {m(fx, 1) / 1e3:.0f} ms | "
                 f"spawn-bound: {m(g, 1) / m(fx, 1):.2f}× the spawn floor's p99 |")
        t.append(f"| timers: {sparse} children in 2 s | p50 {m(gs, 0):.0f} µs, p99 {m(gs, 1):.0f} µs | "
                 f"heap+spawn floor p50 {m(fs, 0):.0f} µs, p99 {m(fs, 1):.0f} µs | {m(gs, 1) / m(fs, 1):.2f}× p99 |")
    if "waterfall" in s:
        gbs, rss, floor = s["waterfall"]
        t.append(f"| waterfall {WF_BYTES} head→cat→wc | {gbs:.2f} GB/s, peak RSS {rss:.1f} MB | ≥ 1 GB/s, < 16 MB; "
                 f"handoff floor {floor:.2f} GB/s | {'met' if gbs >= 1 else 'not met'} ({gbs / floor:.2f}× the floor's "
                 f"rate) / {'met' if rss < 16 else 'not met'} |")
    if "cancel" in s:
        res, grace = s["cancel"]
        for name, v in res.items():
            t.append(f"| cancel 100 siblings ({name}) | {v:.1f} ms | grace {grace} ms + 50 | "
                     f"{'met' if v <= grace + 50 else 'not met'} |")
    write("headline.md", "\n".join(t) + "\n")


if __name__ == "__main__":
    main()
