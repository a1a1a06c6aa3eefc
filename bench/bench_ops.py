"""bench_ops.py: nicex's CPU SGEMM and conv2d against PyTorch CPU (PyPI's, Debian's), same shapes, same run.

    OMP_NUM_THREADS=2 .venv-bench/bin/python bench/bench_ops.py --nicex build/bench_ops \\
        --torch pypi=.venv-bench/bin/python,debian=/usr/bin/python3 --out bench/results/ops-cpu.md

(`make bench-ops`, TORCH=pypi|debian|both.) The shapes come from the C
program (build/bench_ops --list). Each PyTorch named by --torch runs in a
worker process of its own interpreter (this file with --worker), kept alive
for the whole run. For each round and each shape the driver runs the C
program on that shape alone, then each worker on the same shape, so all see
the same machine load (other processes share the cores); each side reports
the median of --reps timed repetitions after a warm-up, and the table shows
the median over --rounds rounds. Before each measurement the driver idles
--settle seconds: a worker's OpenMP and OpenBLAS threads spin for a while
after their last job and would take one of two cores from the C program
measured next. (On a 2-vCPU virtual machine a 0.5 ms GEMM still reads 4-8 ms
now and then, in either side: take the median of several --rounds.) conv is one forward plus one backward that
computes dx, dw and db (F.conv2d with x, w and b requiring grad); gemm is
C = A B (torch.mm, with .t() views for the transposed cases). The first
worker (--openblas) also times numpy.matmul in float32 on the gemm shapes:
PyPI's numpy wheel calls the OpenBLAS it bundles (Debian's numpy calls the
system libblas, the reference BLAS unless an alternative is installed: then it
is left out of the peak).

peak = the best SGEMM GFLOP/s measured in this run by nicex, an MKL build of
torch.mm or OpenBLAS; every row gives each side's GFLOP/s and its fraction of
that peak. ratio = torch ms / nicex ms: above 1 nicex is faster.

Writes the markdown table to --out atomically (tmp + rename) and prints it.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import machine  # noqa: E402


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


# ---- the worker: runs in the interpreter whose torch is measured ----

def median_time(fn, reps, clock):
    now = time.process_time if clock == "cpu" else time.perf_counter
    fn()  # warm-up
    ts = []
    for _ in range(reps):
        t = now()
        fn()
        ts.append(now() - t)
    return statistics.median(ts) * 1e3


def torch_time(torch, F, s, reps, clock):
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


def numpy_time(np, s, reps, clock):
    rng = np.random.default_rng(0)
    M, N, K = int(s["M"]), int(s["N"]), int(s["K"])
    a = rng.random((K, M), dtype=np.float32).T if s["ta"] else rng.random((M, K), dtype=np.float32)
    b = rng.random((N, K), dtype=np.float32).T if s["tb"] else rng.random((K, N), dtype=np.float32)
    return median_time(lambda: np.matmul(a, b), reps, clock)


def worker(threads, clock):
    import torch
    import torch.nn.functional as F
    torch.set_num_threads(threads)
    try:
        import numpy as np
    except ImportError:
        np = None
    print(json.dumps(machine.torch_info()), flush=True)
    for line in sys.stdin:
        req = json.loads(line)
        s = req["shape"]
        r = {"torch_ms": torch_time(torch, F, s, req["reps"], clock)}
        if req.get("numpy") and np is not None and s["kind"] == "gemm":
            r["numpy_ms"] = numpy_time(np, s, req["reps"], clock)
        print(json.dumps(r), flush=True)


class Worker:
    def __init__(self, label, python, threads, clock):
        self.label, self.python = label, python
        env = dict(os.environ, OMP_NUM_THREADS=str(threads), MKL_NUM_THREADS=str(threads),
                   OPENBLAS_NUM_THREADS=str(threads))
        self.p = subprocess.Popen([python, os.path.abspath(__file__), "--worker", "--threads", str(threads),
                                   "--clock", clock], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, env=env)
        first = self.p.stdout.readline()
        if not first:
            sys.exit("bench_ops: the %s worker (%s) did not start (is torch installed there?)" % (label, python))
        self.info = json.loads(first)

    def time(self, shape, reps, numpy):
        self.p.stdin.write(json.dumps({"shape": shape, "reps": reps, "numpy": numpy}) + "\n")
        self.p.stdin.flush()
        line = self.p.stdout.readline()
        if not line:
            sys.exit("bench_ops: the %s worker (%s) died on %s" % (self.label, self.python, shape["name"]))
        return json.loads(line)

    def close(self):
        self.p.stdin.close()
        self.p.wait()


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
    ap.add_argument("--torch", default="pypi=.venv-bench/bin/python,debian=/usr/bin/python3",
                    help="LABEL=PYTHON,... : the interpreters whose PyTorch is measured, one column each")
    ap.add_argument("--openblas", default=None, help="label of the worker that also times numpy.matmul "
                    "on the gemm shapes (default: the first; 'none': no numpy column)")
    ap.add_argument("--reps", type=int, default=5, help="timed repetitions per measurement (median)")
    ap.add_argument("--rounds", type=int, default=3, help="alternating nicex/torch rounds (median)")
    ap.add_argument("--only", default=None, help="comma-separated shape names (default: all)")
    ap.add_argument("--clock", choices=("wall", "cpu"), default="wall",
                    help="wall time (default), or process CPU time (a diagnostic on a shared machine: with one "
                         "thread it leaves out time spent descheduled)")
    ap.add_argument("--cmd", default=None, help="the command that ran this one (e.g. make bench-ops TORCH=both), recorded with it")
    ap.add_argument("--settle", type=float, default=0.5,
                    help="seconds of idle before each measurement, so that the previous side's spinning "
                         "OpenMP / OpenBLAS threads have gone to sleep (default 0.5)")
    ap.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--threads", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if not 0 <= args.settle <= 60:  # also refuses nan
        sys.exit("bench_ops: --settle %s: expected 0 to 60 seconds" % args.settle)
    if args.worker:
        return worker(args.threads, args.clock)

    threads = int(os.environ.get("OMP_NUM_THREADS") or os.cpu_count())
    os.environ["OMP_NUM_THREADS"] = str(threads)  # the C program sees the same
    sides = []
    for item in args.torch.split(","):
        label, _, python = item.partition("=")
        if not python:
            sys.exit("bench_ops: --torch %s: expected LABEL=PYTHON" % item)
        sides.append((label, python))
    blas_label = sides[0][0] if args.openblas is None else args.openblas
    shapes = nicex_shapes(args.nicex)
    if args.only:
        want = set(args.only.split(","))
        shapes = [s for s in shapes if s["name"] in want]
        if not shapes:
            sys.exit("bench_ops: --only %s: no such shape (build/bench_ops --list)" % args.only)

    workers = [Worker(label, python, threads, args.clock) for label, python in sides]
    load_start = os.getloadavg()
    nx_ms = {s["name"]: [] for s in shapes}
    th_ms = {(w.label, s["name"]): [] for w in workers for s in shapes}
    blas_ms = {s["name"]: [] for s in shapes}
    for r in range(args.rounds):
        for s in shapes:
            time.sleep(args.settle)
            nx_ms[s["name"]].append(nicex_time(args.nicex, s["name"], args.reps, args.clock)["ms"])
            msg = "round %d %-30s nicex %9.3f ms" % (r + 1, s["name"], nx_ms[s["name"]][-1])
            for w in workers:
                time.sleep(args.settle)
                res = w.time(s, args.reps, w.label == blas_label)
                th_ms[(w.label, s["name"])].append(res["torch_ms"])
                msg += "  %s %9.3f ms" % (w.label, res["torch_ms"])
                if "numpy_ms" in res:
                    blas_ms[s["name"]].append(res["numpy_ms"])
                    msg += "  openblas %9.3f ms" % res["numpy_ms"]
            print(msg, file=sys.stderr, flush=True)
    load_end = os.getloadavg()
    for w in workers:
        w.close()

    med = statistics.median
    blas_info = next((w.info for w in workers if w.label == blas_label), None)
    blas_name = (blas_info or {}).get("numpy_blas") or "?"
    blas_is_fast = "openblas" in blas_name.lower() or "mkl" in blas_name.lower()
    # the measured peak: best SGEMM of nicex, an MKL torch.mm, OpenBLAS
    cands = []
    for s in shapes:
        if s["kind"] != "gemm":
            continue
        gf = s["flops"] / 1e6
        cands.append((gf / med(nx_ms[s["name"]]), "nicex " + s["name"]))
        for w in workers:
            if w.info["mkl"]:
                cands.append((gf / med(th_ms[(w.label, s["name"])]), "torch.mm (MKL, %s %s) %s"
                              % (w.label, w.info["torch"], s["name"])))
        if blas_ms[s["name"]] and blas_is_fast:
            cands.append((gf / med(blas_ms[s["name"]]), "numpy.matmul (%s) %s" % (blas_name, s["name"])))
    peak, peak_who = max(cands) if cands else (None, "no gemm shape in this run")

    def cell(flops, ms):
        g = flops / 1e6 / ms
        return "%.1f (%.0f%%)" % (g, 100 * g / peak) if peak else "%.1f" % g

    cmd = "OMP_NUM_THREADS=%d %s %s" % (threads, os.path.relpath(sys.executable), " ".join(sys.argv))
    cmd = "`%s`, which runs `%s`" % (args.cmd, cmd) if args.cmd else "`%s`" % cmd
    lines = ["# nicex CPU ops vs PyTorch", ""]
    lines += machine.machine_lines(threads)
    lines += [machine.torch_line(w.label, w.python, w.info) for w in workers]
    if blas_info and blas_info.get("numpy"):
        lines.append("- numpy column: numpy.matmul in float32, numpy %s in the %s interpreter, BLAS: %s%s"
                     % (blas_info["numpy"], blas_label, blas_name,
                        "" if blas_is_fast else " (not an optimised BLAS: left out of the peak)"))
    lines += [
        "- nicex: %s at git %s" % (args.nicex, machine.git_rev()),
        "- command: %s" % cmd,
        "- **peak: %.1f GFLOP/s**, the best SGEMM measured in this run (%s); every GFLOP/s cell gives its"
        " fraction of it in parentheses" % (peak, peak_who) if peak else "- peak: not measured (%s)" % peak_who,
        "- load average (1, 5, 15 min) at the start %.2f %.2f %.2f, at the end %.2f %.2f %.2f: other programs"
        " share the cores; all sides see the same load, shape by shape, so compare the ratios"
        % (load_start + load_end),
        "- method: per shape, %d rounds alternating nicex and each PyTorch; each the median of %d timed runs after a"
        " warm-up; the table gives the median over rounds. conv = forward + backward (dx, dw, db); gemm = C = A B."
        " GFLOP/s counts a multiply-add as 2 flops (conv: 3 GEMM-equivalents). ratio = torch ms / nicex ms"
        " (above 1: nicex faster). Clock: %s." % (args.rounds, args.reps,
                                                 "wall time" if args.clock == "wall" else "process CPU time"),
        "",
    ]
    head = "| op | shape | nicex ms |" + "".join(" torch %s ms |" % w.label for w in workers)
    head += " numpy ms |" if any(blas_ms.values()) else ""
    head += " nicex GFLOP/s |" + "".join(" torch %s GFLOP/s |" % w.label for w in workers)
    head += "".join(" ratio vs %s |" % w.label for w in workers)
    lines.append(head)
    lines.append("|---|---|" + "---:|" * (head.count("|") - 3))
    for s in shapes:
        n = s["name"]
        a = med(nx_ms[n])
        ts = [med(th_ms[(w.label, n)]) for w in workers]
        row = "| %s | %s | %.3f |" % (n, shape_str(s), a) + "".join(" %.3f |" % t for t in ts)
        if any(blas_ms.values()):
            row += " %.3f |" % med(blas_ms[n]) if blas_ms[n] else " - |"
        row += " %s |" % cell(s["flops"], a) + "".join(" %s |" % cell(s["flops"], t) for t in ts)
        row += "".join(" %.2f |" % (t / a) for t in ts)
        lines.append(row)
    if any(blas_ms.values()):
        lines += ["", "numpy (%s) GFLOP/s (fraction of peak): " % blas_name + ", ".join(
            "%s %s" % (s["name"], cell(s["flops"], med(blas_ms[s["name"]]))) for s in shapes if blas_ms[s["name"]])]
    text = "\n".join(lines) + "\n"
    machine.write_atomic(args.out, text)
    print(text)


if __name__ == "__main__":
    main()
