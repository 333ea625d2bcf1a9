PYTHON ?= python3
export CMAKE_BUILD_PARALLEL_LEVEL ?= $(shell nproc)

.PHONY: demo test setup build test-cpp test-python test-conformance conformance fuzz compile-sweep sanitize gpu-check clean

demo: build
	$(PYTHON) -m torch_accel demo

# The GoogleTest suites and examples/cpp are built for `make test` only (a
# build directory that has them keeps them up to date).
test: export TORCH_ACCEL_BUILD_TESTS := 1
test: build
	$(MAKE) --no-print-directory test-cpp test-python test-conformance

setup:
	@PYTHON=$(PYTHON) scripts/setup.sh

# Editable install: CMake builds incrementally in build/, with ccache.
build: setup
	TORCH_DEVICE_BACKEND_AUTOLOAD=0 $(PYTHON) -m pip install -q --no-build-isolation -e .

test-cpp:
	ctest --test-dir build --output-on-failure

test-python:
	$(PYTHON) -m pytest tests/python tests/fuzz -q -p no:cacheprovider -n 2

# A representative shard of PyTorch's OpInfo suite (every 3rd op of op_db), on
# both cores.
test-conformance:
	$(PYTHON) -m pytest tests/conformance -q -p no:cacheprovider -n 2

# The whole OpInfo suite in worker processes; writes docs/CONFORMANCE.md and
# fails on a regression against tests/conformance/expectations.json.
conformance: build
	$(PYTHON) -m torch_accel.conformance

# 10,000 generated programs, accel against CPU, each in a child process.
fuzz: build
	$(PYTHON) tests/fuzz/run_fuzz.py --programs 10000

# Hugging Face architectures compiled against eager accel, fp32 and bf16, each
# in its own process.
compile-sweep: build
	$(PYTHON) tests/compile_sweep/run_sweep.py

# ASAN + UBSAN build in build-sanitize/: every GoogleTest and a pytest subset.
sanitize: setup
	PYTHON=$(PYTHON) scripts/sanitize.sh

# On a machine with a CUDA GPU and nvcc: build with the GPU executor, its
# tests and bench/gpu_executor.py (docs/CUDA.md).
gpu-check:
	PYTHON=$(PYTHON) scripts/gpu_check.sh

clean:
	rm -rf build build-gpu build-nocuda *.egg-info torch_accel/_C*.so torch_accel/lib torch_accel/include torch_accel/share
