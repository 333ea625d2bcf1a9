#!/usr/bin/env bash
# `make gpu-check`: on a machine with a CUDA GPU (compute capability >= 9.0)
# and nvcc on PATH, builds torch_accel with the GPU executor, runs the CUDA
# tests (which must not skip here) and bench/gpu_executor.py. Under ten minutes on one
# GPU with a warm or parallel build. See docs/CUDA.md.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
BUILD_DIR=${TORCH_ACCEL_GPU_BUILD_DIR:-build-gpu}

command -v nvcc >/dev/null || { echo "gpu-check: nvcc not on PATH (the CUDA toolkit builds the executor)" >&2; exit 1; }
nvcc --version | tail -n 2
command -v nvidia-smi >/dev/null && nvidia-smi -L || true

# Its own build directory, so a CPU-only build's CMake cache (TORCH_ACCEL_CUDA=OFF) is not reused.
echo "== build (${BUILD_DIR}) =="
start=$(date +%s)
TORCH_ACCEL_BUILD_DIR="$BUILD_DIR" CMAKE_BUILD_PARALLEL_LEVEL=${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)} \
  "$PYTHON" setup.py -q build_ext --inplace
echo "build: $(( $(date +%s) - start )) s"
grep -q "TORCH_ACCEL_CUDA:BOOL=ON" "$BUILD_DIR/CMakeCache.txt" \
  || { echo "gpu-check: CMake did not enable TORCH_ACCEL_CUDA (see $BUILD_DIR/CMakeCache.txt)" >&2; exit 1; }

echo "== GPU executor =="
"$PYTHON" - <<'PY'
import torch_accel
stats = torch_accel.cuda_stats()
print(stats)
if not stats["available"]:
    raise SystemExit(f"gpu-check: the GPU executor cannot run: {stats['reason']}")
PY

echo "== CUDA tests =="
# -rs lists skips; on a GPU machine only the no-GPU tests may skip.
timeout 360 "$PYTHON" -m pytest tests/python/test_cuda*.py -q -p no:cacheprovider -rs

echo "== benchmark =="
timeout 240 "$PYTHON" bench/gpu_executor.py
