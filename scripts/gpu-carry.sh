#!/bin/sh
# gpu-carry.sh BUILD CARRY: gather what the device machine needs beside the
# repository into one git-ignored folder, named in the device call's `carry`
# (docs/gpu.md). Called by `make gpu-build`.
#
#   CARRY/nicex, run_tests, bench_gpu   BUILD's binaries, debug info stripped
#   CARRY/lib/                          the shared libraries they load beyond
#                                       glibc, libgcc_s, the GPU driver and
#                                       cuBLAS (libgomp here)
#   CARRY/fashion-mnist/                the four IDX files (gzip)
#   CARRY/ldd.txt, CARRY/manifest.txt   ldd of each binary; files and sizes
#   CARRY/BUILD_INFO                    commit, date, compilers of the build
#
# The CUDA runtime is linked statically. cuBLAS is not: this CUDA 13 toolkit
# ships no libcublas_static.a, and libcublasLt.so alone is 540 MB, so the
# device's own CUDA 13 cuBLAS is used (scripts/gpu-check.sh finds it).
set -eu
build=${1:?usage: gpu-carry.sh BUILD CARRY}
carry=${2:?usage: gpu-carry.sh BUILD CARRY}
fmnist=${FASHION_MNIST_DIR:-/usr/share/datasets/fashion-mnist}
bins="nicex run_tests bench_gpu"

rm -rf "$carry"
mkdir -p "$carry/lib" "$carry/fashion-mnist"
: >"$carry/ldd.txt"
for b in $bins; do
    [ -x "$build/$b" ] || { echo "gpu-carry: $build/$b missing (run make gpu-build)" >&2; exit 1; }
    strip --strip-debug -o "$carry/$b" "$build/$b"
    { echo "== $b"; ldd "$build/$b"; } >>"$carry/ldd.txt"
done

# No CUDA runtime or cuRAND shared library may remain.
if grep -E 'libcudart|libcurand' "$carry/ldd.txt" >/dev/null; then
    echo "gpu-carry: a binary links libcudart or libcurand dynamically:" >&2
    grep -E 'libcudart|libcurand' "$carry/ldd.txt" >&2
    exit 1
fi

# Shared libraries to carry: whatever ldd resolves, except the system's own.
for b in $bins; do ldd "$build/$b"; done | awk '$2 == "=>" && $3 ~ /^\// {print $1, $3}' | sort -u |
    while read -r name path; do
        case "$name" in
        libc.so.* | libm.so.* | libdl.so.* | librt.so.* | libpthread.so.* | ld-linux* | libgcc_s.so.*) ;;
        libcublas.so.* | libcublasLt.so.* | libcuda.so.*) ;;
        *) cp -L "$path" "$carry/lib/$name" ;;
        esac
    done

for f in train-images-idx3-ubyte train-labels-idx1-ubyte t10k-images-idx3-ubyte t10k-labels-idx1-ubyte; do
    if [ -f "$fmnist/$f.gz" ]; then cp "$fmnist/$f.gz" "$carry/fashion-mnist/"
    elif [ -f "$fmnist/$f" ]; then cp "$fmnist/$f" "$carry/fashion-mnist/"
    else echo "gpu-carry: $fmnist/$f(.gz) missing (scripts/deps.sh core installs dataset-fashion-mnist)" >&2; exit 1
    fi
done

{
    echo "commit $(git rev-parse --short HEAD 2>/dev/null || echo '?')$(git diff --quiet HEAD 2>/dev/null || echo ' (with uncommitted changes)')"
    echo "built $(date -u '+%Y-%m-%d %H:%M UTC') on $(uname -n)"
    echo "nvcc $(nvcc --version 2>/dev/null | grep -o 'release [0-9.]*' || echo '?'), cc $(cc -dumpfullversion 2>/dev/null)"
} >"$carry/BUILD_INFO"
(cd "$carry" && find . -type f ! -name manifest.txt | sort | xargs ls -l | awk '{print $5, $9}') >"$carry/manifest.txt"
total=$(du -sb "$carry" | cut -f1)
tree=$(git ls-files -z | xargs -0 du -cb 2>/dev/null | tail -1 | cut -f1)
echo "gpu-carry: $carry holds $(awk '{n++} END {print n}' "$carry/manifest.txt") files, $((total / 1024)) KiB;" \
    "with the tracked tree ($((tree / 1024)) KiB) $(((total + tree) / 1048576)) MiB of the device call's 64 MiB"
if [ $((total + tree)) -gt $((56 * 1048576)) ]; then
    echo "gpu-carry: over 56 MiB: too close to the device tool's 64 MiB" >&2
    exit 1
fi
