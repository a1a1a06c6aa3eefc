#!/usr/bin/env python3
"""eval.py: the NICE and I-GOS papers' tables and figures on nicex (make bench-*).

  table2    timing of every method (NICE Table 2, I-GOS Table 3), and of
            Captum / pytorch-grad-cam on PyTorch in a venv, same images
  fig6      post-hoc randomisation: accuracy vs K (NICE Fig. 6)
  fig9      compression: mean PNG bytes and accuracy vs block size (NICE Fig. 9)
  igos      deletion / insertion AUC at several mask resolutions (I-GOS Tables 1-2)
  localise  pointing game and mass inside on cluttered Fashion-MNIST

Each writes bench/results/<name>.md (header: data, model, protocol, machine,
date, exact command) and bench/results/<name>.png (gnuplot). Maps come from
`nicex explain --method M` and are cached in the work folder, so the targets
share them; a method that fails (not built yet, wrong model) becomes a
"skipped" line with its reason, so the tables work whichever methods exist.
Standard library only: runs on a fresh clone with any python3.
"""
import argparse
import datetime
import hashlib
import json
import os
import platform
import shlex
import subprocess
import sys

METHODS = ["saliency", "cam", "gradcam", "ig", "mask", "igos", "rtis", "nice", "random", "intensity"]
SLOW = {"mask", "igos"}  # seconds per image on a CPU: these get --slow-n images
FALLBACK = {"random", "intensity", "nice"}  # bench/fallback_maps.py can write these if explain cannot
COLOURS = {"saliency": "#9400d3", "cam": "#8b4513", "gradcam": "#009e73", "ig": "#56b4e9", "mask": "#e69f00",
           "igos": "#cc79a7", "rtis": "#ff69b4", "nice": "#0050c8", "random": "#e51e10", "intensity": "#000000",
           "downsample": "#808080", "nice-fixed": "#0050c8", "nice-finetuned": "#00a0ff"}


def lc(m):
    return "lc rgb '%s'" % COLOURS.get(m, "#444444") + (" dt 2" if m == "downsample" else "")


HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def log(msg):
    print("[bench] " + msg, file=sys.stderr, flush=True)


def run(cmd, env=None, check=True):
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    if check and p.returncode != 0:
        raise RuntimeError("%s: %s" % (" ".join(map(shlex.quote, cmd)), (p.stderr or p.stdout).strip().splitlines()[-1:]))
    return p


def machine():
    cpu = "unknown CPU"
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    return "%s, %s, %d cores, load %.1f at start (shared machine)" % (platform.node(), cpu, os.cpu_count(), load)


def git_rev():
    p = subprocess.run(["git", "-C", ROOT, "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    dirty = subprocess.run(["git", "-C", ROOT, "status", "--porcelain", "-uno"], capture_output=True, text=True).stdout.strip()
    return (p.stdout.strip() or "unknown") + ("+dirty" if dirty else "")


class Bench:
    def __init__(self, a):
        self.a = a
        self.nicex = os.path.abspath(a.nicex)
        self.env = dict(os.environ)
        self.skipped = {}
        self.notes = []
        tag = hashlib.sha1(("%s|%s|%s|%s" % (a.data, os.path.abspath(a.model), a.gen, a.device)).encode()).hexdigest()[:10]
        self.work = os.path.join(a.work, tag)
        os.makedirs(self.work, exist_ok=True)
        os.makedirs(a.out, exist_ok=True)

    # ---- maps ----------------------------------------------------------------
    def maps(self, method, n, extra=()):
        """Path of maps.safetensors for method on the first n images, or None (reason in self.skipped)."""
        key = "%s%s-n%d" % (method, "".join("_" + str(e).lstrip("-") for e in extra), n)
        d = os.path.join(self.work, key)
        path = os.path.join(d, "maps.safetensors")
        if os.path.exists(path):
            return path
        if method in self.skipped:
            return None
        cmd = [self.nicex, "explain", "--method", method, "--classifier", self.a.model, "--data", self.a.data,
               "--split", "test", "--n", str(n), "--seed", str(self.a.seed), "--device", self.a.device, "--out", d]
        if method == "nice" and self.a.gen:
            cmd += ["--gen", self.a.gen]
        cmd += list(extra)
        log("explain %s (%d images%s)" % (method, n, " " + " ".join(extra) if extra else ""))
        p = run(cmd, env=self.env, check=False)
        if p.returncode == 0 and os.path.exists(path):
            return path
        reason = ((p.stderr or p.stdout).strip().splitlines() or ["failed"])[-1]
        if method in FALLBACK and "unknown method" in reason and self.fallback(method, n, d, path):
            self.notes.append("%s: maps from bench/fallback_maps.py (nicex explain has no --method %s here)" % (method, method))
            return path
        self.skipped[method] = reason.replace("|", "/")
        log("skipped %s: %s" % (method, reason))
        return None

    def fallback(self, method, n, d, path):
        data_dir = self.a.data.split(":", 1)[1] if ":" in self.a.data else "/usr/share/datasets/fashion-mnist"
        os.makedirs(d, exist_ok=True)
        cmd = [sys.executable, os.path.join(HERE, "fallback_maps.py"), method, "--data-dir", data_dir, "--data",
               self.a.data, "--n", str(n), "--seed", str(self.a.seed), "--classifier", self.a.model, "--out", path]
        if method == "nice":
            ex = os.path.join(d, "nice-explain")
            g = ["--gen", self.a.gen] if self.a.gen else []
            if run([self.nicex, "nice", "explain", "--data", self.a.data, "--n", str(n), "--out", ex] + g, check=False).returncode:
                return False
            cmd += ["--nice-explain", os.path.join(ex, "maps.safetensors")]
        return run(cmd, check=False).returncode == 0

    def metric(self, args):
        p = run([self.nicex, "metrics"] + args + ["--device", self.a.device, "--seed", str(self.a.seed), "--json"], env=self.env)
        return json.loads(p.stdout.strip().splitlines()[-1])

    def n_for(self, m):
        return min(self.a.n, self.a.slow_n) if m in SLOW else self.a.n

    # ---- output ----------------------------------------------------------------
    def header(self, title, protocol, extra=""):
        a = self.a
        cmd = os.environ.get("NX_BENCH_CMD") or " ".join(map(shlex.quote, sys.argv))
        h = ["# %s" % title, "",
             "- data: `%s` (test split), first %d images (%d for %s)" % (a.data, a.n, min(a.n, a.slow_n), ", ".join(sorted(SLOW))),
             "- model: `%s`" % a.model,
             "- protocol: %s" % protocol,
             "- machine: %s; device %s" % (machine(), a.device),
             "- date: %s UTC; nicex %s" % (datetime.datetime.utcnow().strftime("%Y-%m-%d %H:%M"), git_rev()),
             "- command: `%s`" % cmd]
        if extra:
            h.append(extra)
        return "\n".join(h) + "\n"

    def footer(self):
        lines = []
        for m in METHODS:
            if m in self.skipped:
                lines.append("- skipped `%s`: %s" % (m, self.skipped[m]))
        for n in self.notes:
            lines.append("- note: " + n)
        return ("\n" + "\n".join(lines) + "\n") if lines else ""

    def write(self, name, text):
        path = os.path.join(self.a.out, name + ".md")
        with open(path + ".tmp", "w") as f:
            f.write(text)
        os.replace(path + ".tmp", path)
        print(text)
        log("wrote " + path)

    def plot(self, name, script, data):
        """data: {file: text}; script: gnuplot commands after the terminal/output lines."""
        for fn, text in data.items():
            with open(os.path.join(self.work, fn), "w") as f:
                f.write(text)
        png = os.path.abspath(os.path.join(self.a.out, name + ".png"))
        full = "set terminal pngcairo size 1100,520 font ',10'\nset output '%s'\ncd '%s'\n%s\n" % (png, self.work, script)
        p = subprocess.run(["gnuplot"], input=full, capture_output=True, text=True)
        if p.returncode != 0:
            log("gnuplot failed (install gnuplot-nox: make deps-torch): " + p.stderr.strip()[-300:])
        else:
            log("wrote " + png)


# ---- fig6: randomisation ----------------------------------------------------------
def fig6(b):
    ks = [0, 10, 20, 30, 40, 50, 60, 70, 80, 90, 100]
    rows, series, rand_row = [], [], None
    for m in METHODS:
        p = b.maps(m, b.n_for(m))
        if not p:
            continue
        r = b.metric(["randomise", "--maps", p, "--classifier", b.a.model, "--ks", ",".join(map(str, ks))])
        # "area": mean accuracy over K (trapezoid), one number per curve
        area = lambda c: sum((c[i] + c[i + 1]) / 2 * (ks[i + 1] - ks[i]) for i in range(len(ks) - 1)) / 100
        rows.append((m, r["n"], r["top"], r["bottom"], area(r["top"]), area(r["bottom"])))
        series.append((m, r["top"], r["bottom"]))
        if m == "random" or rand_row is None:
            rand_row = (r["n"], r["random"])
    t = b.header("NICE Fig. 6: post-hoc randomisation", "the top / bottom K% of pixels by the map (ties: seeded permutation) "
                 "replaced by uniform [0, 1) values per pixel and channel; accuracy against the true labels; "
                 "`random pixels`: K% chosen uniformly (no map)")
    t += "\nA faithful map loses accuracy fastest under *top* and slowest under *bottom*: low top-area and high bottom-area are better.\n\n"
    t += "| method | n | curve | " + " | ".join("K=%d" % k for k in ks) + " | mean acc |\n"
    t += "|---|---|---|" + "---|" * len(ks) + "---|\n"
    for m, n, top, bot, at, ab in rows:
        t += "| %s | %d | top | %s | %.3f |\n" % (m, n, " | ".join("%.3f" % v for v in top), at)
        t += "| %s | %d | bottom | %s | %.3f |\n" % (m, n, " | ".join("%.3f" % v for v in bot), ab)
    if rand_row:
        t += "| random pixels | %d | random | %s | |\n" % (rand_row[0], " | ".join("%.3f" % v for v in rand_row[1]))
    t += b.footer()
    b.write("fig6-randomise", t)
    dat = "".join("%d %s\n" % (k, " ".join("%.4f %.4f" % (s[1][i], s[2][i]) for s in series)) for i, k in enumerate(ks))
    if rand_row:
        dat = "".join(line + " %.4f\n" % rand_row[1][i] for i, line in enumerate(dat.splitlines()))
    top = ["'fig6.dat' u 1:%d w lp pt 7 %s t '%s'" % (2 + 2 * j, lc(sr[0]), sr[0]) for j, sr in enumerate(series)]
    bot = ["'fig6.dat' u 1:%d w lp pt 7 %s t '%s'" % (3 + 2 * j, lc(sr[0]), sr[0]) for j, sr in enumerate(series)]
    if rand_row:
        for lst in (top, bot):
            lst.append("'fig6.dat' u 1:%d w l lc rgb 'gray50' lw 3 dt 2 t 'random pixels'" % (2 + 2 * len(series)))
    b.plot("fig6-randomise", "set multiplot layout 1,2 title 'Post-hoc randomisation (%s, %s)'\nset xlabel 'K: %% of pixels replaced by noise'\n"
           "set ylabel 'accuracy'\nset yrange [0:1]\nset grid\nset key top right font ',8'\nset title 'top K%% by the map (lower is better)'\nplot %s\n"
           "set title 'bottom K%% by the map (higher is better)'\nplot %s\nunset multiplot" % (b.a.data, os.path.basename(b.a.model), ", ".join(top), ", ".join(bot)),
           {"fig6.dat": dat})


# ---- fig9: compression -------------------------------------------------------------
def fig9(b):
    nice = b.maps("nice", b.n_for("nice"))
    rows, base = [], None
    blocks_arg = ["--blocks", b.a.blocks] if b.a.blocks else []
    for m in b.methods:
        p = b.maps(m, b.n_for(m))
        if not p:
            continue
        args = ["compress", "--maps", p, "--classifier", b.a.model] + blocks_arg
        if m != "nice":
            args += ["--density-from", nice] if nice else ["--density", str(b.a.density)]
        if base is None:
            args.append("--baseline")
        r = b.metric(args)
        mixed = [x for x in r["rows"] if x["kind"] == "mixed"]
        if base is None:
            base = [x for x in r["rows"] if x["kind"] != "mixed"]
            base_n = r["n"]
        rows.append((m if m != "nice" or not b.a.nice_label else b.a.nice_label, r["n"], r["mask"], r["mask_density"], mixed))
    if not rows:
        sys.exit("bench fig9: no method produced maps")
    blocks = [x["block"] for x in rows[0][4]]
    # further NICE files (e.g. one with a finetuned classifier): `nicex nice compress`
    # at each block, with the classifier stored in that file
    for spec in [s for s in b.a.nice_rows.split(",") if s]:
        label, path = spec.split("=", 1)
        mixed, dens = [], 0.0
        for k in blocks:
            p = run([b.nicex, "nice", "compress", "--gen", path, "--data", b.a.data, "--block", str(k), "--n",
                     str(b.n_for("nice")), "--device", b.a.device, "--no-images", "--json",
                     "--out", os.path.join(b.work, "nice-compress-%s-b%d" % (label, k))], env=b.env)
            j = json.loads(p.stdout.strip().splitlines()[-1])
            mixed.append({"block": k, "mean_bytes": j["mean_bytes"], "accuracy": j["accuracy"]})
            dens = j.get("density", dens)
        rows.append((label, j["n"], "NICE's test-time mask (eq. 12), classifier as stored in `%s`" % path, dens, mixed))
    t = b.header("NICE Fig. 9: compression with mixed-resolution images",
                 "x~ = x z + x_b (1 - z) (eq. 13; x_b: b x b block means), rounded to 8 bits, PNG with default zlib "
                 "(data/png.c); NICE's test-time mask as is, other maps thresholded at the density of NICE's mask "
                 "image by image (`--density-from`), or at %s when NICE is missing; accuracy against the true labels" % b.a.density)
    t += "\nEach cell: mean PNG bytes / accuracy. `downsample`: the b x b means stored as a (H/b)x(W/b) PNG, shown to the classifier upsampled bilinearly; b = 1 is the original images.\n\n"
    t += "| method | n | mask density | " + " | ".join("b=%d" % k for k in blocks) + " |\n|---|---|---|" + "---|" * len(blocks) + "\n"
    for m, n, how, dens, mixed in rows:
        t += "| %s | %d | %s | %s |\n" % (m, n, "%.3f" % dens if dens else "", " | ".join("%.0f / %.3f" % (x["mean_bytes"], x["accuracy"]) for x in mixed))
    if base:
        t += "| downsample (original at b=1) | %d | | %s |\n" % (base_n, " | ".join("%.0f / %.3f" % (x["mean_bytes"], x["accuracy"]) for x in base))
    t += "\nMasks: " + "; ".join("%s: %s" % (m, how) for m, n, how, d, x in rows) + "\n"
    t += b.footer()
    b.write(b.a.name or "fig9-compress", t)
    series = rows + ([("downsample", base_n, "", 0, base)] if base else [])
    dat = "".join("%d %s\n" % (k, " ".join("%.2f %.4f" % (s[4][i]["mean_bytes"], s[4][i]["accuracy"]) for s in series))
                  for i, k in enumerate(blocks))
    pa = ", ".join("'fig9.dat' u 1:%d w lp pt 7 %s t '%s'" % (3 + 2 * j, lc(s[0]), s[0]) for j, s in enumerate(series))
    pb = ", ".join("'fig9.dat' u 1:%d w lp pt 7 %s t '%s'" % (2 + 2 * j, lc(s[0]), s[0]) for j, s in enumerate(series))
    b.plot(b.a.name or "fig9-compress", "set multiplot layout 1,2 title 'Compression (%s, %s)'\nset logscale x 2\nset grid\nset xlabel 'block size b'\n"
           "set ylabel 'accuracy'\nset key outside right font ',8'\nplot %s\nset ylabel 'mean PNG bytes'\nset key outside right font ',8'\nplot %s\nunset multiplot"
           % (b.a.data, os.path.basename(b.a.model), pa, pb), {"fig9.dat": dat})


# ---- igos: deletion / insertion at several resolutions --------------------------------
def igos(b):
    side = b.a.side
    res = [r for r in (side, side // 2, side // 4) if r >= 1 and side % r == 0]
    tables, curves = [], {}
    for proto in b.a.protocols:
        rows = []
        for m in METHODS:
            cells, n_used = [], None
            for r in res:
                if m in SLOW:  # optimised at the mask size: the file's native grid
                    p = b.maps(m, b.n_for(m), ("--mask-size", str(r)))
                    g = [] if proto == "igos" else (["--resolution", str(r)] if r != side else [])
                else:
                    p = b.maps(m, b.n_for(m))
                    g = ["--resolution", str(r)]
                if not p:
                    break
                d = b.metric(["deletion", "--maps", p, "--classifier", b.a.model, "--protocol", proto] + g)
                i = b.metric(["insertion", "--maps", p, "--classifier", b.a.model, "--protocol", proto] + g)
                cells.append((d["auc"], d["auc_sem"], i["auc"], i["auc_sem"], d["grid"]))
                n_used = d["n"]
                if r == side:
                    curves.setdefault(proto, []).append((m, d["x"], d["curve"], i["x"], i["curve"]))
            if cells:
                rows.append((m, n_used, cells))
        tables.append((proto, rows))
    t = b.header("I-GOS Tables 1-2: deletion / insertion AUC at several mask resolutions",
                 ", ".join(b.a.protocols) + " (see below); score: softmax of the class predicted on the clean image; AUC by the trapezoid rule on [0, 1]; one grid row of cells per step")
    t += ("\nResolution r: mask and igos are optimised at an r x r mask (`--mask-size r`, their native grid); every other map is "
          "average-pooled to r x r. Protocol `igos`: the 51-tap sigma-50 blur for both curves, cells upsampled bilinearly. "
          "Protocol `rise`: zero image for deletion, RISE's 11/sigma-5 blur scaled to the image (3 taps, sigma 0.625 at 28x28) "
          "for insertion, cells replicated. At 28x28 that insertion start barely differs from the image, so rise insertion "
          "hardly separates methods. Lower deletion and higher insertion are better; +- is the standard error over images.\n")
    for proto, rows in tables:
        t += "\n## protocol %s\n\n| method | n | " % proto + " | ".join("del %dx%d | ins %dx%d" % (r, r, r, r) for r in res) + " |\n"
        t += "|---|---|" + "---|---|" * len(res) + "\n"
        for m, n, cells in rows:
            t += "| %s | %d | " % (m, n) + " | ".join("%.4f +- %.4f | %.4f +- %.4f" % c[:4] for c in cells) + " |\n"
    t += b.footer()
    b.write("igos-deletion-insertion", t)
    proto = b.a.protocols[0]
    cs = curves.get(proto, [])
    data = {}
    pd, pi = [], []
    for j, (m, dx, dy, ix, iy) in enumerate(cs):
        data["del_%s.dat" % m] = "".join("%.5f %.5f\n" % v for v in zip(dx, dy))
        data["ins_%s.dat" % m] = "".join("%.5f %.5f\n" % v for v in zip(ix, iy))
        pd.append("'del_%s.dat' w l lw 2 %s t '%s'" % (m, lc(m), m))
        pi.append("'ins_%s.dat' w l lw 2 %s t '%s'" % (m, lc(m), m))
    if cs:
        b.plot("igos-deletion-insertion", "set multiplot layout 1,2 title 'Mean curves at %dx%d, protocol %s (%s)'\nset grid\nset xlabel 'fraction of pixels'\n"
               "set ylabel 'softmax of the clean prediction'\nset yrange [0:1]\nset title 'deletion'\nset key top right font ',8'\nplot %s\n"
               "set title 'insertion'\nset key bottom right font ',8'\nplot %s\nunset multiplot" % (side, side, proto, os.path.basename(b.a.model), ", ".join(pd), ", ".join(pi)), data)


# ---- localise ------------------------------------------------------------------------
def localise(b):
    rows = []
    for m in METHODS:
        p = b.maps(m, b.n_for(m))
        if not p:
            continue
        r = b.metric(["localise", "--maps", p])
        rows.append((m, r["n"], r["pointing_hit_rate"], r["mass_inside"], r["mask_area"]))
    acc = run([b.nicex, "eval", "--ckpt", b.a.model, "--data", b.a.data, "--split", "test", "--json"], check=False)
    try:
        accs = "%.2f%%" % (100 * json.loads(acc.stdout.strip().splitlines()[-1])["accuracy"])
    except Exception:
        accs = "unknown"
    t = b.header("Localisation against ground truth (cluttered Fashion-MNIST)",
                 "pointing game (the map's maximum, ties by a seeded permutation, inside the item's pixels) and the share of "
                 "(map - min) inside the item; data from `nicex data cluttered`",
                 "- classifier test accuracy on this data: %s" % accs)
    t += "\nChance: a random map's mass inside equals the item's area share; its hit rate too on average.\n\n"
    t += "| method | n | pointing game | mass inside | item area (chance) |\n|---|---|---|---|---|\n"
    for m, n, h, mi, ar in rows:
        t += "| %s | %d | %.3f | %.3f | %.3f |\n" % (m, n, h, mi, ar)
    t += b.footer()
    b.write("localise-cluttered", t)
    dat = "".join("%d %s %.4f %.4f %.4f\n" % (j, m, h, mi, ar) for j, (m, n, h, mi, ar) in enumerate(rows))
    b.plot("localise-cluttered", "set title 'Localisation on cluttered Fashion-MNIST (%s)'\nset style data histograms\nset style histogram clustered gap 1\n"
           "set style fill solid 0.8\nset yrange [0:1]\nset grid y\nset ylabel 'share'\nset key top right\n"
           "plot 'localise.dat' u 3:xtic(2) t 'pointing game', '' u 4 t 'mass inside', '' u 5 t 'item area (chance)'" % os.path.basename(b.a.model),
           {"localise.dat": dat})


# ---- table2: timing --------------------------------------------------------------------
def table2(b):
    n, R = b.a.n, b.a.repeats
    rows, floor, floor_r = [], {}, {}  # floor[n]: total seconds of the random control on n images

    def explain_cmd(m, nm):
        cmd = [b.nicex, "explain", "--method", m, "--classifier", b.a.model, "--data", b.a.data, "--n", str(nm),
               "--seed", str(b.a.seed), "--device", b.a.device, "--out", os.path.join(b.work, "timing-%s-%d" % (m, nm))]
        return cmd + (["--gen", b.a.gen] if m == "nice" and b.a.gen else [])

    def timed(m, nm):
        cmd = explain_cmd(m, nm)
        probe = run(cmd, check=False)  # the warm-up, and the check that the method exists
        if probe.returncode != 0:
            return None, ((probe.stderr or probe.stdout).strip().splitlines() or ["failed"])[-1].replace("|", "/")
        log("timing %s (%d images, %d repeats)" % (m, nm, R))
        r = json.loads(run([b.nicex, "metrics", "timing", "--warmup", "0", "--repeats", str(R), "--json", "--label", m, "--"] + cmd).stdout)
        # in process: explain --json's "seconds" (the method's own loop over 64-image chunks, data in memory)
        ins = [json.loads(run(cmd + ["--json"]).stdout.strip().splitlines()[-1])["seconds"] for _ in range(R)]
        mu = sum(ins) / R
        r["in_mean_s"], r["in_std_s"] = mu, (sum((t - mu) ** 2 for t in ins) / (R - 1)) ** 0.5 if R > 1 else 0.0
        return r, None

    for m in METHODS:
        nm = b.n_for(m)
        if nm not in floor:
            fr, err = timed("random", nm)
            if fr is None:
                sys.exit("bench table2: the random control failed: " + err)
            floor[nm], floor_r[nm] = fr["mean_s"], fr
        if m == "random":
            fr = floor_r[nm]
            rows.append(["random", nm, fr["mean_s"], fr["std_s"], fr["mean_s"] / nm, 0.0, fr["in_mean_s"], fr["in_std_s"]])
            continue
        r, err = timed(m, nm)
        if r is None:
            b.skipped[m] = err
            continue
        rows.append([m, nm, r["mean_s"], r["std_s"], r["mean_s"] / nm, max(r["mean_s"] - floor[nm], 0) / nm, r["in_mean_s"], r["in_std_s"]])
    py = torch_timing(b)
    t = b.header("NICE Table 2 / I-GOS Table 3: time to explain",
                 "wall clock of the whole `nicex explain` command (process start, loading the model and data, the method, "
                 "writing maps.safetensors and the PNGs), %d timed runs after a warm-up probe run; `net`: (total - the `random` "
                 "control's total on as many images: the same loading and writing without a model pass) / images. "
                 "OMP_NUM_THREADS=%s. The machine is shared: the std shows the noise, and a net time smaller than the "
                 "random control's std is within it" % (R, os.environ.get("OMP_NUM_THREADS", "unset")))
    t += ("\n`in-process`: the method's own time as `nicex explain --json` reports it (the loop over 64-image chunks, model "
          "and images in memory; %d runs): the number to compare with PyTorch's in-process time below.\n" % R)
    t += "\n| method | images | whole command s (mean +- std) | s / image | net s / image | in-process s (mean +- std) | in-process s / image |\n|---|---|---|---|---|---|---|\n"
    for m, nm, mean, std, per, net, im, isd in rows:
        t += "| %s | %d | %.3f +- %.3f | %.4f | %.4f | %.4f +- %.4f | %.5f |\n" % (m, nm, mean, std, per, net, im, isd, im / nm)
    if py:
        t += "\n### Against Python (%s)\n\n" % py["versions"]
        t += ("Same images, same weights (the nicex checkpoint loaded into a PyTorch LeNet5), same machine, in the same run; PyTorch "
              "time is in-process (model loaded, images in memory, %d repeats after a warm-up), so it excludes Python's start and "
              "`import torch` (%.2f s here). Ratio = PyTorch in-process / nicex in-process, per image (> 1: nicex is faster).\n\n" % (py["repeats"], py["import_s"]))
        t += "| method | Python library | images | PyTorch s (mean +- std) | PyTorch s / image | nicex in-process s / image | ratio |\n|---|---|---|---|---|---|---|\n"
        by = {r[0]: r for r in rows}
        for k, lib, ours in (("saliency", "captum.attr.Saliency", "saliency"), ("ig", "captum.attr.IntegratedGradients", "ig"),
                             ("gradcam", "pytorch_grad_cam.GradCAM (conv2 + ReLU)", "gradcam")):
            if k not in py["results"]:
                continue
            pr = py["results"][k]
            per = pr["mean_s"] / pr["n"]
            o = by.get(ours)
            t += "| %s | %s | %d | %.3f +- %.3f | %.4f | %s | %s |\n" % (
                k, pr.get("lib", lib), pr["n"], pr["mean_s"], pr["std_s"], per,
                "%.5f" % (o[6] / o[1]) if o else "n/a", "%.2f" % (per / (o[6] / o[1])) if o and o[6] > 0 else "n/a")
        for msg in py.get("notes", []):
            t += "\n- " + msg
        t += "\n"
    else:
        b.notes.append("PyTorch comparison skipped: %s" % b.torch_skip)
    t += b.footer()
    b.write("table2-timing", t)
    pyr = py["results"] if py else {}
    dat = "".join("%d %s %.6f %.6f %s\n" % (j, r[0], r[4], max(r[6] / r[1], 1e-6),
                                             "%.6f" % (pyr[r[0]]["mean_s"] / pyr[r[0]]["n"]) if r[0] in pyr else "NaN")
                  for j, r in enumerate(rows))
    b.plot("table2-timing", "set title 'Seconds per image (%s)'\nset style data histograms\nset style histogram clustered gap 1\nset style fill solid 0.8\n"
           "set logscale y\nset grid y\nset ylabel 's / image'\nset xtics rotate by -30\nset key top left\n"
           "plot 'timing.dat' u 3:xtic(2) t 'nicex, whole command', '' u 4 t 'nicex, in-process', '' u 5 t 'PyTorch (Captum / grad-cam), in-process'" % os.path.basename(b.a.model),
           {"timing.dat": dat})


def torch_timing(b):
    venv = b.a.venv
    py = os.path.join(venv, "bin", "python")
    b.torch_skip = ""
    if not os.path.exists(py):
        log("creating %s (torch, captum, grad-cam from PyPI; once)" % venv)
        r = subprocess.run([sys.executable, "-m", "venv", venv])
        if r.returncode == 0:
            r = subprocess.run([py, "-m", "pip", "install", "-q", "torch", "torchvision", "captum", "grad-cam"])
        if r.returncode != 0:
            b.torch_skip = "could not create %s with pip" % venv
            return None
    data_dir = b.a.data.split(":", 1)[1] if ":" in b.a.data else "/usr/share/datasets/fashion-mnist"
    cmd = [py, os.path.join(HERE, "torch_timing.py"), "--model", b.a.model, "--data-dir", data_dir, "--n", str(b.a.n),
           "--repeats", str(b.a.repeats)]
    p = subprocess.run(cmd, capture_output=True, text=True)
    if p.returncode != 0:
        b.torch_skip = (p.stderr.strip().splitlines() or ["failed"])[-1]
        log("torch timing failed: " + b.torch_skip)
        return None
    return json.loads(p.stdout.strip().splitlines()[-1])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("target", choices=["table2", "fig6", "fig9", "igos", "localise"])
    ap.add_argument("--nicex", default=os.path.join(ROOT, "bin", "nicex"))
    ap.add_argument("--data", default="fashion-mnist")
    ap.add_argument("--model", default=os.path.join(ROOT, "models", "lenet5-fashion-mnist.safetensors"))
    ap.add_argument("--gen", default="", help="NICE generator for --model (default: explain's shipped one)")
    ap.add_argument("--n", type=int, default=300)
    ap.add_argument("--slow-n", type=int, default=10, help="images for mask and igos (seconds per image on a CPU)")
    ap.add_argument("--side", type=int, default=28, help="image side (resolutions for the igos target)")
    ap.add_argument("--protocols", default="igos,rise")
    ap.add_argument("--density", type=float, default=0.35, help="fig9 mask density when NICE is missing")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--name", default="", help="output stem in --out (default: the target's own, e.g. fig9-compress)")
    ap.add_argument("--blocks", default="", help="fig9 block sizes, e.g. 1,2,4,8,16,32 (default: every divisor of the side)")
    ap.add_argument("--methods", default="", help="comma-separated subset of the methods (default all)")
    ap.add_argument("--nice-label", default="", help="fig9: the row name of --gen (default nice)")
    ap.add_argument("--nice-rows", default="", help="fig9: more NICE rows LABEL=FILE,... scored by `nicex nice compress` with the classifier in FILE")
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--venv", default=os.path.join(ROOT, ".venv-bench"))
    ap.add_argument("--work", default=os.path.join(ROOT, "bench", "work"))
    ap.add_argument("--out", default=os.path.join(ROOT, "bench", "results"))
    a = ap.parse_args()
    a.protocols = [p for p in a.protocols.split(",") if p]
    if not os.path.exists(a.nicex):
        sys.exit("bench: %s not found (make first)" % a.nicex)
    b = Bench(a)
    b.methods = [m for m in METHODS if not a.methods or m in a.methods.split(",")]
    {"table2": table2, "fig6": fig6, "fig9": fig9, "igos": igos, "localise": localise}[a.target](b)


if __name__ == "__main__":
    main()
