"""bench_ops.py: nicex's CPU SGEMM and conv2d against PyTorch CPU, same shapes, same run.

    OMP_NUM_THREADS=2 /usr/bin/python3 bench/bench_ops.py --nicex build/bench_ops --out bench/results/ops-cpu.md

The shapes come from the C program (build/bench_ops --list). For each round
and each shape it runs the C program on that shape alone, then PyTorch on the
same shape, so both see the same machine load (other processes share the
cores); each side reports the median of --reps timed repetitions after a
warm-up, and the table shows the median over --rounds rounds. conv is one
forward plus one backward that computes dx, dw and db (F.conv2d with x, w
and b requiring grad); gemm is C = A B (torch.mm, with .t() views for the
transposed cases). ratio = torch ms / nicex ms: above 1 nicex is faster.

Writes the markdown table to --out atomically (tmp + rename) and prints it.
"""
import argparse
import datetime
import os
import statistics
import subprocess
import sys
import time

import torch
import torch.nn.functional as F


def parse_line(line):
    kind, *pairs = line.split()
    d = {"kind": kind}
    for p in pairs:
        k, v = p.split("=", 1)
        d[k] = v if k == "name" else float(v)
    return d


def nicex_shapes(exe):
    out = subprocess.run([exe, "--list"], check=True, capture_output=True, text=True).stdout
    return [parse_line(l) for l in out.splitlines() if l and not l.startswith("#")]


def nicex_time(exe, name, reps, clock):
    out = subprocess.run([exe, "--only", name, "--reps", str(reps), "--clock", clock], check=True,
                         capture_output=True, text=True).stdout
    lines = [parse_line(l) for l in out.splitlines() if l and not l.startswith("#")]
    return lines[0]


def median_time(fn, reps, clock):
    now = time.process_time if clock == "cpu" else time.perf_counter
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t = now()
        fn()
        ts.append(now() - t)
    return statistics.median(ts) * 1e3


def torch_time(s, reps, clock):
    gen = torch.Generator().manual_seed(0)
    if s["kind"] == "gemm":
        M, N, K = int(s["M"]), int(s["N"]), int(s["K"])
        a = torch.rand(K, M, generator=gen).t() if s["ta"] else torch.rand(M, K, generator=gen)
        b = torch.rand(N, K, generator=gen).t() if s["tb"] else torch.rand(K, N, generator=gen)
        return median_time(lambda: torch.mm(a, b), reps, clock)
    N, C, H, W, O, K = (int(s[k]) for k in ("N", "C", "H", "W", "O", "K"))
    st, pad, g = int(s["stride"]), int(s["pad"]), int(s["groups"])
    x = torch.rand(N, C, H, W, generator=gen).requires_grad_()
    w = torch.rand(O, C // g, K, K, generator=gen).requires_grad_()
    b = torch.rand(O, generator=gen).requires_grad_()
    with torch.no_grad():
        dy = torch.rand_like(F.conv2d(x, w, b, st, pad, 1, g))

    def step():
        x.grad = w.grad = b.grad = None
        F.conv2d(x, w, b, st, pad, 1, g).backward(dy)

    return median_time(step, reps, clock)


def cpu_model():
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def shape_str(s):
    if s["kind"] == "gemm":
        t = ("T" if s["ta"] else "N") + ("T" if s["tb"] else "N")
        return "%dx%dx%d %s" % (s["M"], s["N"], s["K"], t)
    st = "s%d " % s["stride"] if s["stride"] != 1 else ""
    return "N%d %d->%d k%d %s%dx%d p%d" % (s["N"], s["C"], s["O"], s["K"], st, s["H"], s["W"], s["pad"])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--nicex", default="build/bench_ops", help="the C benchmark program")
    ap.add_argument("--out", default="bench/results/ops-cpu.md")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per measurement (median)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating nicex/torch rounds (median)")
    ap.add_argument("--only", default=None, help="comma-separated shape names (default: all)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time (default), or process CPU time (a diagnostic on a shared machine: with one "
                         "thread it leaves out time spent descheduled)")
    args = ap.parse_args()

    threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the C program sees the same
    torch.set_num_threads(threads)
    shapes = nicex_shapes(args.nicex)
    if args.only:
        want = set(args.only.split(","))
        shapes = [s for s in shapes if s["name"] in want]

    load_start = os.getloadavg()
    nx_ms = {s["name"]: [] for s in shapes}
    th_ms = {s["name"]: [] for s in shapes}
    for r in range(args.rounds):
        for s in shapes:
            nx_ms[s["name"]].append(nicex_time(args.nicex, s["name"], args.reps, args.clock)["ms"])
            th_ms[s["name"]].append(torch_time(s, args.reps, args.clock))
            print("round %d %-30s nicex %9.3f ms  torch %9.3f ms" % (r + 1, s["name"], nx_ms[s["name"]][-1],
                                                                     th_ms[s["name"]][-1]), file=sys.stderr)

    load_end = os.getloadavg()
    cmd = "OMP_NUM_THREADS=%d /usr/bin/python3 %s" % (threads, " ".join(sys.argv))
    lines = [
        "# nicex CPU ops vs PyTorch",
        "",
        "- date: %s" % datetime.datetime.now().strftime("%Y-%m-%d %H:%M"),
        "- machine: %s, %d logical CPUs" % (cpu_model(), os.cpu_count()),
        "- threads: %d (OpenMP for nicex, torch.set_num_threads for PyTorch %s)" % (threads, torch.__version__),
        "- command: `%s`" % cmd,
        "- load average (1, 5, 15 min) at the start %.2f %.2f %.2f, at the end %.2f %.2f %.2f: other programs"
        " share the cores; both sides see the same load, shape by shape, so compare the ratios"
        % (load_start + load_end),
        "- method: per shape, %d rounds alternating nicex and PyTorch; each the median of %d timed runs after a"
        " warm-up; the table gives the median over rounds. conv = forward + backward (dx, dw, db); gemm = C = A B."
        " GFLOP/s counts a multiply-add as 2 flops (conv: 3 GEMM-equivalents). ratio = torch ms / nicex ms."
        " Clock: %s." % (args.rounds, args.reps, "wall time" if args.clock == "wall" else "process CPU time"),
        "",
        "| op | shape | nicex ms | torch ms | nicex GFLOP/s | torch GFLOP/s | ratio |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    for s in shapes:
        a, b = statistics.median(nx_ms[s["name"]]), statistics.median(th_ms[s["name"]])
        gf = s["flops"] / 1e6
        lines.append("| %s | %s | %.3f | %.3f | %.1f | %.1f | %.2f |" % (s["name"], shape_str(s), a, b, gf / a, gf / b,
                                                                      b / a))
    text = "\n".join(lines) + "\n"
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    tmp = args.out + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, args.out)
    print(text)


if __name__ == "__main__":
    main()
