# nicex: build, test, bench.
#
#   make              library build/libnicex.a and bin/nicex (CUDA when nvcc is on PATH)
#   make CUDA=0       CPU-only build
#   make test         install Debian deps if needed (as root), check that every op has all its files and
#                     cases (scripts/check-ops.sh), build, run every Check suite
#   make sanitize     the fast suites and the bad-input suite under ASan + UBSan (CPU-only;
#                     SANITIZE_SUITES=all for every suite)
#   make fuzz         libFuzzer harnesses of the file readers (clang), FUZZ_SECONDS each
#   make golden       regenerate tests/golden/data with PyTorch (installs python3-torch)
#   make bench-ops    GEMM and conv2d against PyTorch CPU -> bench/results/ops-cpu.md
#   make bench-train  against PyTorch CPU: one LeNet5 epoch and its profile, a ResNet18 step (224, batch 16),
#                     one NICE epoch (the shipped generator's) -> bench/results/train-cpu.md
#                     (TORCH=pypi|debian|both, default both: PyPI's torch 2.x in .venv-bench/, Debian's 1.13)
#   make bench-nice-lambda  the lambda1 sweep of NICE on Fashion-MNIST -> bench/results/nice-*.md
#   make fetch-data   unpack CIFAR-10 JPEG and Imagenette from ../shared/data into DATA_DIR (default .data/)
#   make bench-nice-cifar  NICE on the VGG11 CIFAR-10 classifier at the paper's settings -> bench/results/nice-cifar.md
#   make bench-fig9-imagenette  NICE Fig. 9 on Imagenette (ResNet18) -> bench/results/fig9-imagenette.md
#   make demo         the README's demo: NICE explains the shipped LeNet5 -> demo/
#   make compare-methods  every explanation method on 8 Fashion-MNIST images -> bench/results/compare-methods.png
#   make parity-captum    Saliency and IG against Captum (torch 2.x + Captum from PyPI in .venv-bench/)
#   make bench-table2 | bench-fig6 | bench-fig9 | bench-igos | bench-localise
#                     the papers' tables on nicex -> bench/results/*.md + .png
#                     (DATA=, MODEL=, GEN=, N=, SLOW_N=, DEVICE=, VENV=; docs/paper-tables.md)
#
# Objects go to build/ (build-san/ for sanitize); header dependencies are tracked.

NVCC ?= $(shell command -v nvcc 2>/dev/null || ls /usr/local/cuda/bin/nvcc 2>/dev/null)
ifeq ($(strip $(NVCC)),)
CUDA ?= 0
else
CUDA ?= 1
endif

# CPU-only and CUDA objects differ (-DNX_WITH_CUDA): separate folders.
BUILD ?= $(if $(filter 1,$(CUDA)),build-cuda,build)
CC ?= cc
OPT ?= -O3 -march=native
# -fno-math-errno: sqrtf and friends never set errno (nothing reads it after a math call), so a loop
# that calls sqrtf vectorises (Adam's); the results are the same, sqrt is exact either way.
CFLAGS_BASE = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I. -MMD -MP -fopenmp -fno-math-errno
CFLAGS += $(CFLAGS_BASE) $(OPT) -g -DNX_MODELS_DIR='"$(CURDIR)/models"'
LDLIBS += -fopenmp -lpng -ljpeg -lz -lm -lpthread

SRC_DIRS = tensor autograd kernels kernels/ref layers optim data nice baselines eval
LIB_SRC = $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.c))
CLI_SRC = $(wildcard cli/*.c)
TEST_SRC = $(wildcard tests/*.c tests/grad/*.c tests/golden/*.c tests/unit/*.c)
CU_SRC = $(foreach d,$(SRC_DIRS),$(wildcard $(d)/*.cu))

ifeq ($(CUDA),1)
CUDA_HOME ?= $(patsubst %/bin/nvcc,%,$(NVCC))
CFLAGS += -DNX_WITH_CUDA
NVCCFLAGS ?= -O3 -arch=sm_90 -std=c++17 -I. -DNX_WITH_CUDA -Xcompiler -Wall,-Wextra,-Werror -MMD -MP
LDLIBS += -L$(CUDA_HOME)/lib64 -Wl,-rpath,$(CUDA_HOME)/lib64 -lcublas -lcurand -lcudart -lstdc++
CU_OBJ = $(CU_SRC:%.cu=$(BUILD)/%.cu.o)
endif

LIB_OBJ = $(LIB_SRC:%.c=$(BUILD)/%.o) $(CU_OBJ)
CLI_OBJ = $(CLI_SRC:%.c=$(BUILD)/%.o)
TEST_OBJ = $(TEST_SRC:%.c=$(BUILD)/%.o)
LIB = $(BUILD)/libnicex.a
BIN = bin/nicex
TEST_BIN = $(BUILD)/run_tests

# Bench programs: built by `make test` too, so a refactor that breaks one fails CI.
BENCH_BINS = $(BUILD)/bench_ops $(BUILD)/bench_gpu

CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt -lm)

.PHONY: all lib test sanitize fuzz fuzz-build fuzz-corpus deps deps-torch golden bench-ops bench-train bench-nice-lambda demo clean
.PHONY: fetch-data bench-nice-cifar bench-fig9-imagenette
.PHONY: compare-methods parity-captum
all: $(BIN)
lib: $(LIB)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/%.cu.o: %.cu
	@mkdir -p $(dir $@)
	$(NVCC) $(NVCCFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@ && ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

# the CLI linked into $(BUILD) (the sanitizer build's, for the bad-input suite)
$(BUILD)/nicex: $(CLI_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(SAN_LDFLAGS) -o $@ $(CLI_OBJ) $(LIB) $(LDLIBS)

$(TEST_BIN): $(TEST_OBJ) $(LIB)
	$(CC) $(CFLAGS) $(SAN_LDFLAGS) -o $@ $(TEST_OBJ) $(LIB) $(CHECK_LIBS) $(LDLIBS)

# Debian packages: installed when run as root, else the exact apt-get line is printed.
deps:
	@sh scripts/deps.sh core
deps-torch:
	@sh scripts/deps.sh torch

# CK_DEFAULT_TIMEOUT: Check's 4 s default is too short for the model suites.
test: deps
	sh scripts/check-ops.sh
	@$(MAKE) --no-print-directory $(TEST_BIN) $(BIN) $(BENCH_BINS)
	CK_DEFAULT_TIMEOUT=120 OMP_NUM_THREADS=$${OMP_NUM_THREADS:-2} ./$(TEST_BIN)

# The bad-input suite runs the sanitized build-san/nicex (NX_BIN). The whole
# suite under the sanitizers takes ~14 min on 2 cores; by default the fast
# suites and the bad-input suite run (SANITIZE_SUITES=all: every suite).
SANITIZE_SUITES ?= core,rng,optim,data,nice,badinput
sanitize: deps
	@$(MAKE) --no-print-directory BUILD=build-san CUDA=0 \
	  OPT="-O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
	  SAN_LDFLAGS="-fsanitize=address,undefined" build-san/run_tests build-san/nicex
	CK_DEFAULT_TIMEOUT=600 CK_FORK=no ASAN_OPTIONS=detect_leaks=0 NX_SANITIZE=1 NX_BIN=build-san/nicex \
	  $(if $(filter all,$(SANITIZE_SUITES)),,NX_SUITE=$(SANITIZE_SUITES)) ./build-san/run_tests

golden: deps-torch
	/usr/bin/python3 tests/golden/gen_all.py tests/golden/data

$(BUILD)/bench_ops: $(BUILD)/bench/bench_ops.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

demo: deps $(BIN)
	sh scripts/demo.sh demo


bench-nice-lambda: deps $(BIN)
	sh bench/nice_lambda.sh bench/results

# CIFAR-10 JPEG and Imagenette from ../shared/data into DATA_DIR (skipped when absent).
DATA_DIR ?= .data
fetch-data:
	sh scripts/fetch-data.sh $(DATA_DIR)

compare-methods: deps $(BIN)
	sh scripts/compare_methods.sh bench/results

# torch 2.x CPU and Captum from PyPI in a git-ignored venv (large: torch pulls its CUDA wheels).
VENV_BENCH = .venv-bench
$(VENV_BENCH)/.parity-ok:
	python3 -m venv $(VENV_BENCH)
	$(VENV_BENCH)/bin/pip install "torch>=2,<3" captum safetensors numpy
	touch $@

parity-captum: deps $(BIN) $(VENV_BENCH)/.parity-ok
	$(VENV_BENCH)/bin/python scripts/captum_parity.py --nicex $(BIN)

# bench-ops and bench-train compare with TORCH=pypi|debian|both (default both): pypi is torch 2.x from
# PyPI in $(VENV_BENCH) (made once by the rule above: PyPI's default Linux wheel, MKL + oneDNN, with the
# CUDA packages it pulls, ~3 GB: what users install); debian is python3-torch 1.13 of /usr/bin/python3.
TORCH ?= both
BENCH_SIDES_pypi = pypi=$(VENV_BENCH)/bin/python
BENCH_SIDES_debian = debian=/usr/bin/python3
BENCH_SIDES_both = $(BENCH_SIDES_pypi),$(BENCH_SIDES_debian)
BENCH_DEPS_pypi = $(VENV_BENCH)/.parity-ok
BENCH_DEPS_debian = deps-torch
BENCH_DEPS_both = $(BENCH_DEPS_pypi) $(BENCH_DEPS_debian)
BENCH_PY = $(if $(filter debian,$(TORCH)),/usr/bin/python3,$(VENV_BENCH)/bin/python)
BENCH_THREADS = OMP_NUM_THREADS=$${OMP_NUM_THREADS:-$$(nproc)}
BENCH_TORCH_OK = @test -n "$(BENCH_SIDES_$(TORCH))" || { echo "make: TORCH=$(TORCH): expected pypi, debian or both" >&2; exit 2; }

bench-ops: $(BENCH_DEPS_$(TORCH)) $(BUILD)/bench_ops
	$(BENCH_TORCH_OK)
	$(BENCH_THREADS) $(BENCH_PY) bench/bench_ops.py --nicex $(BUILD)/bench_ops --torch $(BENCH_SIDES_$(TORCH)) \
	  --cmd "make bench-ops TORCH=$(TORCH)" --out bench/results/ops-cpu.md

# PARTS: of lenet5,resnet18,nice (bench/bench_train.py --parts)
PARTS ?= lenet5,resnet18,nice
bench-train: $(BENCH_DEPS_$(TORCH)) $(BIN) $(BUILD)/bench_ops
	$(BENCH_TORCH_OK)
	$(BENCH_THREADS) $(BENCH_PY) bench/bench_train.py --nicex $(BIN) --bench-ops $(BUILD)/bench_ops \
	  --torch $(BENCH_SIDES_$(TORCH)) --parts $(PARTS) --cmd "make bench-train TORCH=$(TORCH) PARTS=$(PARTS)" \
	  --out bench/results/train-cpu.md

bench-nice-cifar: deps $(BIN)
	sh bench/nice_cifar.sh bench/results
# CKPT, DATA, EPOCHS, BATCH, LIMIT, N, SLOW_N, DEVICE, WORK: see bench/fig9_imagenette.sh
bench-fig9-imagenette: deps-torch $(BIN)
	sh bench/fig9_imagenette.sh bench/results

# ---- the papers' tables and figures (bench/eval.py; docs/paper-tables.md, docs/eval.md) ----
DATA ?= fashion-mnist
MODEL ?= models/lenet5-fashion-mnist.safetensors
GEN ?=
N ?= 300
SLOW_N ?= 10
DEVICE ?= cpu
REPEATS ?= 3
VENV ?= .venv-bench
TIME_N ?= 100
TIME_SLOW_N ?= 3
BENCH_EVAL = /usr/bin/env python3 bench/eval.py --data $(DATA) --model $(MODEL) --n $(N) --slow-n $(SLOW_N) --device $(DEVICE) $(if $(GEN),--gen $(GEN))
nx_empty :=
nx_space := $(nx_empty) $(nx_empty)
BENCH_CMD = NX_BENCH_CMD="make $@ DATA=$(DATA) MODEL=$(MODEL) N=$(N) SLOW_N=$(SLOW_N) DEVICE=$(DEVICE)$(if $(GEN), GEN=$(GEN))$(BENCH_EXTRA)"
CLUTTER_DIR ?= bench/work/cluttered48
CLUTTER_MODEL ?= models/lenet5-cluttered48.safetensors
CLUTTER_GEN ?= models/nice-lenet5-cluttered48.safetensors
.PHONY: bench-table2 bench-fig6 bench-fig9 bench-igos bench-localise bench-eval
bench-table2: BENCH_EXTRA = $(nx_space)TIME_N=$(TIME_N) TIME_SLOW_N=$(TIME_SLOW_N) REPEATS=$(REPEATS) VENV=$(VENV)
bench-table2: deps-torch $(BIN)
	$(BENCH_CMD) $(BENCH_EVAL) --n $(TIME_N) --slow-n $(TIME_SLOW_N) --repeats $(REPEATS) --venv $(VENV) table2
bench-fig6: deps-torch $(BIN)
	$(BENCH_CMD) $(BENCH_EVAL) fig6
bench-fig9: deps-torch $(BIN)
	$(BENCH_CMD) $(BENCH_EVAL) fig9
bench-igos: deps-torch $(BIN)
	$(BENCH_CMD) $(BENCH_EVAL) igos
# the cluttered test set is regenerated (seed 0, same recipe as the shipped model's) when missing
bench-localise: deps-torch $(BIN)
	@test -f $(CLUTTER_DIR)/t10k-masks-idx3-ubyte || $(BIN) data cluttered --out $(CLUTTER_DIR) --n 30000 --n-test 2000 --seed 0
	NX_BENCH_CMD="make $@ N=$(N) SLOW_N=$(SLOW_N) DEVICE=$(DEVICE)" /usr/bin/env python3 bench/eval.py --data fashion-mnist:$(CLUTTER_DIR) \
	  --model $(CLUTTER_MODEL) --gen $(CLUTTER_GEN) --side 48 --n $(N) --slow-n $(SLOW_N) --device $(DEVICE) localise
bench-eval: bench-fig6 bench-fig9 bench-igos bench-localise bench-table2

# ---- the GPU check (issue 15, docs/gpu.md) ----------------------------------
#   make gpu-build   build-gpu/: nicex, run_tests and bench_gpu for sm_90 with the
#                    CUDA runtime static, then .gpu-carry/: those binaries
#                    stripped, the shared libraries they need beyond glibc and
#                    cuBLAS, and Fashion-MNIST (scripts/gpu-carry.sh)
#   make gpu-check   gpu-build, then scripts/gpu-check.sh gpu-check-out (without a
#                    GPU: the dry mode, every CUDA part skipped with a notice)
#   make bench-gpu   nicex vs PyTorch on this machine's GPU -> bench/results/gpu.md
# No libcublas_static.a ships with this CUDA 13 toolkit: cuBLAS stays shared
# and comes from the device's own CUDA 13 (gpu-check.sh finds it).
GPU_BUILD = build-gpu
GPU_CARRY = .gpu-carry
GPU_CUDA_HOME = $(patsubst %/bin/nvcc,%,$(NVCC))
GPU_LDLIBS = -fopenmp -Wl,-Bstatic -lpng16 -ljpeg -lz -Wl,-Bdynamic -lm -lpthread -L$(GPU_CUDA_HOME)/lib64 \
  -lcublas -lcublasLt -lcudart_static -ldl -lrt -Wl,-Bstatic -lstdc++ -Wl,-Bdynamic
GPU_CHECK_LIBS = -Wl,-Bstatic -lcheck_pic -lsubunit -Wl,-Bdynamic -lrt -lm
.PHONY: gpu-build gpu-check bench-gpu gpu-clean

gpu-build: deps
	@test -n "$(NVCC)" || { echo "make gpu-build: needs nvcc (CUDA 13) on PATH or in /usr/local/cuda" >&2; exit 2; }
	@$(MAKE) --no-print-directory CUDA=1 BUILD=$(GPU_BUILD) BIN=$(GPU_BUILD)/nicex OPT="-O3 -march=x86-64-v3" \
	  LDLIBS="$(GPU_LDLIBS)" CHECK_LIBS="$(GPU_CHECK_LIBS)" \
	  $(GPU_BUILD)/nicex $(GPU_BUILD)/run_tests $(GPU_BUILD)/bench_gpu
	sh scripts/gpu-carry.sh $(GPU_BUILD) $(GPU_CARRY)

gpu-check: gpu-build
	bash scripts/gpu-check.sh gpu-check-out

$(BUILD)/bench_gpu: $(BUILD)/bench/bench_gpu.o $(LIB)
	$(CC) $(CFLAGS) -o $@ $< $(LIB) $(LDLIBS)

# The device has no Debian packages: bench_gpu.py runs on its own python3 and
# torch; the nicex side runs the carried binaries (or build-gpu/ here).
bench-gpu:
	PYTHONUNBUFFERED=1 python3 bench/bench_gpu.py --bin $${NX_GPU_BIN:-$(GPU_CARRY)} \
	  --data $${NX_GPU_DATA:-$(GPU_CARRY)/fashion-mnist} --out $${NX_GPU_BENCH_OUT:-bench/results/gpu.md}

gpu-clean:
	rm -rf $(GPU_BUILD) $(GPU_CARRY) gpu-check-out


# ---- fuzzing (tests/fuzz/README.md) -------------------------------------
# The library is rebuilt with clang, ASan, UBSan and libFuzzer's coverage
# hooks in build-fuzz/; IMAGE_MAX_PIXELS is lowered there so that the
# fuzzer does not spend its time decoding legal but huge images.
FUZZ_SECONDS ?= 60
FUZZ_CC ?= clang
FUZZ_HARNESSES = idx cifar safetensors png jpeg
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-pass-failed -I. -MMD -MP -fopenmp -O1 -g -fno-omit-frame-pointer \
  -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -DIMAGE_MAX_PIXELS='((int64_t)1 << 22)'
FUZZ_LIB_OBJ = $(filter-out %.cu.o,$(LIB_SRC:%.c=build-fuzz/%.o))

build-fuzz/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

build-fuzz/libnicex.a: $(FUZZ_LIB_OBJ)
	rm -f $@ && ar rcs $@ $^

build-fuzz/tests/fuzz/fuzz_png.o: tests/fuzz/fuzz_image.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_PNG -c $< -o $@
build-fuzz/tests/fuzz/fuzz_jpeg.o: tests/fuzz/fuzz_image.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -DFUZZ_JPEG -c $< -o $@

build-fuzz/fuzz_%: build-fuzz/tests/fuzz/fuzz_%.o build-fuzz/libnicex.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $^ -lpng -ljpeg -lz -lm -lpthread

fuzz-build: $(FUZZ_HARNESSES:%=build-fuzz/fuzz_%)

fuzz-corpus:
	/usr/bin/python3 tests/fuzz/make_corpus.py tests/fuzz/corpus

fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_SECONDS) $(FUZZ_HARNESSES)

clean:
	rm -rf build build-cuda build-san build-fuzz bin

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_OBJ:.o=.d) $(wildcard build-fuzz/*/*.d build-fuzz/tests/fuzz/*.d)
