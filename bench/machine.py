"""machine.py: what a bench results file says about the machine and the PyTorch builds it ran.

Used by bench_ops.py and bench_train.py (driver side: no torch import) and by
their torch workers (torch_info, in the interpreter being measured).
"""
import datetime
import os
import platform
import subprocess

# The vector extensions worth naming, in /proc/cpuinfo's spelling.
VECTOR_FLAGS = ("sse4_2", "avx", "avx2", "fma", "f16c", "avx_vnni", "avx512f", "avx512dq", "avx512bw", "avx512vl",
                "avx512_vnni", "avx512_bf16", "avx512_fp16", "amx_tile", "amx_bf16")


def cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def cpu_flags():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("flags"):
                    have = set(line.split(":", 1)[1].split())
                    return [v for v in VECTOR_FLAGS if v in have]
    except OSError:
        pass
    return []


def utc_now():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")


def machine_lines(threads):
    """Markdown bullet lines: CPU, vector extensions, threads, date."""
    flags = cpu_flags()
    return [
        "- machine: %s, %d logical CPUs (%s), %s" % (cpu_model(), os.cpu_count(), platform.machine(),
                                                     platform.platform(terse=True)),
        "- vector extensions (/proc/cpuinfo): %s%s" % (" ".join(flags) or "none found",
                                                       "" if "avx512f" in flags else "; no AVX-512"),
        "- threads: %d for every side (OMP_NUM_THREADS for nicex and OpenBLAS, torch.set_num_threads)" % threads,
        "- date: %s" % utc_now(),
    ]


def torch_info():
    """In a torch worker: version, MKL / oneDNN, the build summary of torch.__config__.show()."""
    import torch
    cfg = torch.__config__.show()
    keep = []
    for line in cfg.splitlines():
        s = line.strip(" -")
        if s.startswith(("Intel(R) oneAPI Math Kernel", "Intel(R) Math Kernel", "Intel(R) MKL-DNN", "oneDNN",
                         "CPU capability usage", "OpenMP")):
            keep.append(s)
        elif s.startswith("Build settings:"):
            for kv in s[len("Build settings:"):].split(","):
                kv = kv.strip()
                if kv.startswith(("BLAS_INFO=", "LAPACK_INFO=", "USE_MKL=", "USE_MKLDNN=", "USE_CUDA=")):
                    keep.append(kv)
    info = {
        "torch": torch.__version__,
        "mkl": bool(torch.backends.mkl.is_available()),
        "mkldnn": bool(torch.backends.mkldnn.is_available()),
        "config": "; ".join(keep),
        "python": platform.python_version(),
    }
    try:
        import numpy as np
        info["numpy"] = np.__version__
        info["numpy_blas"] = numpy_blas(np)
    except ImportError:
        info["numpy"] = None
    return info


def numpy_blas(np):
    try:
        cfg = np.show_config(mode="dicts")  # numpy >= 1.26
        blas = cfg["Build Dependencies"]["blas"]
        return "%s %s" % (blas.get("name", "?"), blas.get("version", ""))
    except Exception:  # older numpy (Debian's): the system libblas.so.3, whatever the alternatives link names
        lib = "/usr/lib/%s-linux-gnu/libblas.so.3" % platform.machine()
        return "system libblas.so.3 -> %s" % os.path.realpath(lib) if os.path.exists(lib) else "unknown"


def torch_line(label, python, info):
    return ("- PyTorch %s (`%s`, python %s): %s, MKL %s, oneDNN (mkldnn) %s; torch.__config__.show(): %s"
            % (label, python, info["python"], info["torch"], "on" if info["mkl"] else "off",
               "on" if info["mkldnn"] else "off", info["config"] or "-"))


def git_rev():
    try:
        rev = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True).stdout.strip()
        return rev + ("+changes" if dirty else "") if rev else "unknown"
    except OSError:
        return "unknown"


def write_atomic(path, text):
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        f.write(text)
    os.replace(tmp, path)
