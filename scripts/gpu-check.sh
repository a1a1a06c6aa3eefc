#!/usr/bin/env bash
# gpu-check.sh [OUT]: everything issue 15 needs from a GPU, in one call of
# the device tool (docs/gpu.md). Logs and tables go to OUT (default: $OUT,
# else gpu-check-out); at most 8 files, as the device tool returns no more.
#
#   0. environment: GPU, driver, the cuBLAS the binaries will load
#   1. the CUDA suite (CK_FORK=no): every op of the registry on both devices,
#      the optimizers, the random streams, one training step of each model,
#      one NICE step                                     -> suite-cuda.log
#   2. LeNet5, 10 epochs with --device cuda (docs/models.md's recipe), the
#      epoch times, the accuracy against the CPU run's, and the arena check
#      (no cudaMalloc after the first step)                -> lenet5.log
#   3. make bench-gpu's script: nicex vs PyTorch on this GPU
#                                               -> gpu.md, bench.log
#   summary.md: one line per part, PASS / FAIL / SKIP, and the numbers.
#   NX_GPU_SANITIZE=1 adds the op cases under compute-sanitizer memcheck
#   (sanitize.log; T_SANITIZE seconds, default 180), for a rerun's diagnosis.
#
# It runs the binaries of `make gpu-build` from the carry folder (.gpu-carry,
# or NX_GPU_CARRY) with LD_LIBRARY_PATH set to its lib/ and to the device's
# CUDA 13 cuBLAS. Each part has its own time limit (T_SUITE, split among the
# suite's five test cases, T_LENET, T_BENCH seconds; defaults 160, 120, 150),
# so one hang cannot eat the device time; expected total 3-5 minutes.
#
# Without a GPU (no nvidia-smi, or it lists none; or --dry) it runs its dry
# mode: the CUDA suite's self-test (the op cases and training steps CPU
# against CPU), a short CPU run of part 2 with the same parsing and checks,
# and the bench with the nicex and PyTorch sides skipped (a "no GPU" stub).
#
# Exit status: 0 when every part passed (or, dry, passed or skipped), else 1.
set -u
dry=0
args=()
for a in "$@"; do
    case "$a" in
    --dry) dry=1 ;;
    -h | --help) sed -n '2,/^set -u/p' "$0" | sed 's/^# \{0,1\}//; /^set -u/d'; exit 0 ;;
    *) args+=("$a") ;;
    esac
done
out=${args[0]:-${OUT:-gpu-check-out}}
carry=${NX_GPU_CARRY:-.gpu-carry}
T_SUITE=${T_SUITE:-160} T_LENET=${T_LENET:-120} T_BENCH=${T_BENCH:-150}
mkdir -p "$out" || exit 1
out=$(cd "$out" && pwd)
summary="$out/summary.md"
: >"$summary"
failed=0
note() { echo "$*" | tee -a "$summary"; }
verdict() { # part status text
    note "- $1: **$2** $3"
    [ "$2" = FAIL ] && failed=1
    return 0
}
t_start=$(date +%s)

note "# nicex GPU check"
note ""
note "- date: $(date -u '+%Y-%m-%d %H:%M UTC'), host $(uname -n), $(nproc) CPUs"
note "- command: \`bash scripts/gpu-check.sh $*\`"
note "- build: $( [ -f "$carry/BUILD_INFO" ] && tr '\n' ';' <"$carry/BUILD_INFO" || echo "no $carry/BUILD_INFO")"

# ---- 0. environment ---------------------------------------------------------
env_txt="$out/env.txt"
{
    echo "== date"; date -u
    echo "== uname"; uname -a
    echo "== os"; grep PRETTY_NAME /etc/os-release 2>&1; ldd --version 2>&1 | head -1
    echo "== nvidia-smi"; timeout 20 nvidia-smi 2>&1 || echo "(no nvidia-smi)"
    echo "== carry"; cat "$carry/manifest.txt" 2>&1
    echo "== TF32 (nicex: CUBLAS_DEFAULT_MATH unless NX_CUDA_TF32=1, unset below)"
    echo "NX_CUDA_TF32=${NX_CUDA_TF32-} NVIDIA_TF32_OVERRIDE=${NVIDIA_TF32_OVERRIDE-}"
} >"$env_txt"
unset NX_CUDA_TF32
gpu_name=""
if [ $dry = 0 ] && command -v nvidia-smi >/dev/null 2>&1; then
    gpu_name=$(timeout 20 nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null | head -1)
fi
[ -z "$gpu_name" ] && dry=1
if [ $dry = 1 ]; then
    note "- mode: **dry** (no GPU): the CUDA parts are skipped with a notice"
else
    note "- GPU: $gpu_name"
fi

for b in nicex run_tests bench_gpu; do
    if [ ! -x "$carry/$b" ]; then
        verdict "setup" FAIL "($carry/$b missing: run \`make gpu-build\` here and name $carry in carry)"
        exit 1
    fi
done

# cuBLAS: the device's own CUDA 13 (no static cuBLAS ships with the toolkit).
find_cublas() {
    local d f site
    for d in ${NX_CUBLAS_DIR:-} /usr/local/cuda/lib64 /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda-13*/lib64 \
        /usr/lib/x86_64-linux-gnu; do
        [ -e "$d/libcublas.so.13" ] && [ -e "$d/libcublasLt.so.13" ] && { echo "$d"; return 0; }
    done
    site=$(timeout 20 python3 -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' 2>/dev/null)
    for d in "$site/nvidia" /opt /usr/local/lib; do
        [ -d "$d" ] || continue
        f=$(timeout 20 find "$d" -name 'libcublas.so.13' 2>/dev/null | head -1)
        [ -n "$f" ] && [ -e "$(dirname "$f")/libcublasLt.so.13" ] && { dirname "$f"; return 0; }
    done
    return 1
}
cublas_dir=$(find_cublas) || cublas_dir=""
export LD_LIBRARY_PATH="$(cd "$carry" && pwd)/lib${cublas_dir:+:$cublas_dir}${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export OMP_NUM_THREADS=${OMP_NUM_THREADS:-$(nproc)}
{ echo "== LD_LIBRARY_PATH"; echo "$LD_LIBRARY_PATH"; echo "== ldd $carry/nicex"; ldd "$carry/nicex"; } >>"$env_txt" 2>&1
missing=$(ldd "$carry/nicex" "$carry/run_tests" "$carry/bench_gpu" 2>&1 | grep 'not found' | sort -u)
if [ -n "$missing" ]; then
    verdict "setup" FAIL "(libraries not found: $(echo $missing); cuBLAS dir '${cublas_dir:-none}'; set NX_CUBLAS_DIR)"
    exit 1
fi
cublas_so=$(ldd "$carry/nicex" | awk '/libcublas.so/ {print $3}')
note "- cuBLAS: $cublas_so (searched: ${cublas_dir:-none found, the default loader path})"
note ""
note "## Parts"

# Runs "$@" under a time limit; the status says whether it ran out.
run_part() { # seconds log cmd...
    local t=$1 log=$2
    shift 2
    echo "\$ $*" >>"$log"
    timeout -k 10 "$t" "$@" >>"$log" 2>&1
    local rc=$?
    [ $rc = 124 ] || [ $rc = 137 ] && echo "gpu-check: TIMED OUT after $t s" >>"$log"
    return $rc
}
json_get() { # file key: a top-level or memory.* number/bool from nicex's JSON line
    python3 - "$1" "$2" <<'EOF'
import json, sys
line = [l for l in open(sys.argv[1]) if l.startswith("{")][-1]
v = json.loads(line)
for k in sys.argv[2].split("."):
    v = v[k]
print(json.dumps(v) if isinstance(v, (list, dict, bool)) else v)
EOF
}

# Check's summary line, "100%: Checks: 38, Failures: 0, Errors: 0", the last one in a log
last_checks() { grep -oE '[0-9]+%: Checks: [0-9]+, Failures: [0-9]+, Errors: [0-9]+' "$1" | tail -1; }

# ---- 1. the CUDA suite ------------------------------------------------------
# One process per test case (CK_RUN_CASE), each with its own limit: with
# CK_FORK=no a crash ends the process, and would hide the cases after it.
slog="$out/suite-cuda.log"
: >"$slog"
t0=$(date +%s)
if [ $dry = 1 ]; then
    CK_FORK=no CK_VERBOSITY=verbose NX_SUITE=cuda NX_CUDA_SELFTEST=1 run_part "$T_SUITE" "$slog" "$carry/run_tests"
    rc=$?
    checks=$(last_checks "$slog")
    if [ $rc = 0 ] && grep -q "CUDA suites skipped: no GPU" "$slog"; then
        verdict "1. CUDA suite" SKIP "(no GPU; self-test CPU against CPU passed: $checks; $(($(date +%s) - t0)) s)"
    else
        verdict "1. CUDA suite" FAIL "(dry self-test, exit $rc: $checks; see suite-cuda.log)"
    fi
else
    cases=("ops:$((T_SUITE * 3 / 8))" "optim:$((T_SUITE / 8))" "loss targets:$((T_SUITE / 8))"
        "random streams:$((T_SUITE / 8))" "training steps:$((T_SUITE / 4))")
    results="" suite_ok=1
    for spec in "${cases[@]}"; do
        name=${spec%:*} t=${spec##*:}
        echo "== test case '$name' (limit $t s)" >>"$slog"
        CK_FORK=no CK_VERBOSITY=verbose CK_RUN_CASE="$name" NX_SUITE=cuda run_part "$t" "$slog" "$carry/run_tests"
        rc=$?
        checks=$(last_checks "$slog")
        n_checks=$(echo "$checks" | sed -n 's/.*Checks: \([0-9]*\).*/\1/p')
        case $rc in
        0) if [ "${n_checks:-0}" -gt 0 ]; then results="$results; $name: ${checks#*: }"
           else results="$results; $name: NO TESTS RAN"; suite_ok=0; fi ;;
        124 | 137) results="$results; $name: TIMED OUT"; suite_ok=0 ;;
        *) results="$results; $name: exit $rc ${checks#*: }"; suite_ok=0 ;;
        esac
    done
    if grep -q "CUDA suites skipped" "$slog"; then
        verdict "1. CUDA suite" FAIL "(the suite saw no GPU although nvidia-smi did: see suite-cuda.log)"
    elif [ $suite_ok = 1 ]; then
        verdict "1. CUDA suite" PASS "(${results#; }; $(($(date +%s) - t0)) s)"
    else
        verdict "1. CUDA suite" FAIL "(${results#; }; see suite-cuda.log)"
        grep -E ':[EF]:|fatal|MISMATCH|TIMED OUT' "$slog" | head -20 | sed 's/^/    /' | tee -a "$summary"
    fi
fi
grep -E 'worst normwise|normwise error|bit-identical' "$slog" | sed 's/^/    /' >>"$summary"

# Optional (a rerun's diagnosis): NX_GPU_SANITIZE=1 runs the op cases under
# compute-sanitizer's memcheck (it works on Firecracker machines, not gVisor).
if [ $dry = 0 ] && [ "${NX_GPU_SANITIZE:-0}" = 1 ]; then
    san=$(command -v compute-sanitizer || ls /usr/local/cuda/bin/compute-sanitizer 2>/dev/null)
    zlog="$out/sanitize.log"
    : >"$zlog"
    if [ -z "$san" ]; then
        verdict "1b. memcheck" FAIL "(no compute-sanitizer on this machine)"
    else
        CK_FORK=no CK_RUN_CASE=ops NX_SUITE=cuda run_part "${T_SANITIZE:-180}" "$zlog" "$san" --tool memcheck \
            --error-exitcode 9 --print-limit 20 "$carry/run_tests"
        rc=$?
        if [ $rc = 0 ]; then verdict "1b. memcheck" PASS "(op cases under compute-sanitizer: no error)"
        else verdict "1b. memcheck" FAIL "(exit $rc: $(grep -m3 -E 'Invalid|ERROR SUMMARY' "$zlog" | tr '\n' ' '))"; fi
    fi
fi

# ---- 2. LeNet5, 10 epochs on the GPU ---------------------------------------
llog="$out/lenet5.log"
: >"$llog"
data="fashion-mnist:$carry/fashion-mnist"
tmp=$(mktemp -d)
t0=$(date +%s)
# The CPU run's accuracy: the shipped model was trained by this recipe on the CPU (docs/models.md).
run_part 30 "$llog" "$carry/nicex" eval --ckpt models/lenet5-fashion-mnist.safetensors --data "$data" --json
cpu_acc=$(python3 -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]["accuracy"])' "$llog" 2>/dev/null)
recipe=(--model lenet5 --data "$data" --opt adam --lr 1e-3 --batch 100 --schedule step --step-size 5 --gamma 0.1
    --seed 0 --report-memory --json --out "$tmp/lenet5.safetensors")
w0=$(date +%s.%N)
if [ $dry = 1 ]; then
    # the same parsing and checks on a short CPU run
    run_part "$T_LENET" "$llog" "$carry/nicex" train "${recipe[@]}" --epochs 2 --limit 2000 --device cpu
else
    run_part "$T_LENET" "$llog" "$carry/nicex" train "${recipe[@]}" --epochs 10 --device cuda
fi
rc=$?
echo "wall_seconds=$(python3 -c "print('%.2f' % ($(date +%s.%N) - $w0))")" >>"$llog"
lenet_json="$out/lenet5.log"
if [ $rc != 0 ] || [ -z "$cpu_acc" ]; then
    verdict "2. LeNet5 10 epochs" FAIL "(exit $rc, CPU reference accuracy '${cpu_acc}'; see lenet5.log)"
else
    acc=$(json_get "$llog" test_accuracy) secs=$(json_get "$llog" seconds) epochs=$(json_get "$llog" epoch_seconds)
    none=$(json_get "$llog" memory.none_after_first_step)
    mem="cudaMalloc-equivalents: step 1 $(json_get "$llog" memory.mallocs_step1), rest of epoch 1 $(json_get "$llog" memory.mallocs_rest_of_first_epoch), first eval $(json_get "$llog" memory.mallocs_first_eval), later epochs $(json_get "$llog" memory.mallocs_later_epochs); arena high water $(json_get "$llog" memory.arena_high_water) B"
    diff_ok=$(python3 -c "print(abs($acc - $cpu_acc) <= 0.003)")
    line="(test accuracy $(python3 -c "print('%.2f%%' % (100 * $acc))"), CPU run $(python3 -c "print('%.2f%%' % (100 * $cpu_acc))"); training $secs s, epochs $epochs s; $mem; $(($(date +%s) - t0)) s)"
    if [ $dry = 1 ]; then
        if [ "$none" = true ]; then verdict "2. LeNet5 10 epochs" SKIP "(no GPU; dry: 2 CPU epochs on 2000 images, checks ran: $line)"
        else verdict "2. LeNet5 10 epochs" FAIL "(dry CPU run allocates after step 1: $line)"; fi
    elif [ "$diff_ok" = True ] && [ "$none" = true ]; then
        verdict "2. LeNet5 10 epochs" PASS "$line"
    else
        verdict "2. LeNet5 10 epochs" FAIL "(accuracy within 0.3 points: $diff_ok, no cudaMalloc after step 1: $none) $line"
    fi
fi
rm -rf "$tmp"

# ---- 3. the bench: nicex vs PyTorch on this GPU ---------------------------
blog="$out/bench.log"
: >"$blog"
t0=$(date +%s)
bench_args=(--bin "$carry" --data "$carry/fashion-mnist" --out "$out/gpu.md" --raw "$out/bench-raw.txt")
[ $dry = 0 ] && [ -s "$lenet_json" ] && bench_args+=(--lenet-log "$lenet_json")
PYTHONUNBUFFERED=1 run_part "$T_BENCH" "$blog" python3 bench/bench_gpu.py "${bench_args[@]}"
rc=$?
if [ $rc != 0 ] || [ ! -s "$out/gpu.md" ]; then
    verdict "3. bench-gpu" FAIL "(exit $rc; see bench.log)"
elif [ $dry = 0 ] && grep -q "not run" "$out/gpu.md"; then
    verdict "3. bench-gpu" FAIL "(a side did not run: $(grep -m2 'not run' "$out/gpu.md" | tr '\n' ' '))"
elif [ $dry = 1 ]; then
    verdict "3. bench-gpu" SKIP "(no GPU: stub written to gpu.md; $(($(date +%s) - t0)) s)"
else
    verdict "3. bench-gpu" PASS "(gpu.md: copy it to bench/results/gpu.md and commit; $(($(date +%s) - t0)) s)"
    grep -E '^\*\*' "$out/gpu.md" | sed 's/^/    /' >>"$summary"
fi

note ""
note "total $(($(date +%s) - t_start)) s; $([ $failed = 0 ] && echo "every part passed${dry:+}" || echo "SOME PART FAILED")$([ $dry = 1 ] && echo " (dry mode)")"
exit $failed
