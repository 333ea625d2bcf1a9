#!/usr/bin/env bash
# CI check: without nvcc the project configures with TORCH_ACCEL_CUDA=OFF,
# builds, and the package runs with the GPU executor reported as not built.
# Uses its own build directory (build-nocuda) and does not touch the package's
# installed libraries; ccache makes the rebuild cheap where main was built.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
PYTHON=${PYTHON:-python3}
BUILD_DIR=${TORCH_ACCEL_NOCUDA_BUILD_DIR:-build-nocuda}

# PATH without any directory that holds nvcc, and no CUDA hints for CMake.
clean_path=""
IFS=: read -ra dirs <<< "$PATH"
for d in "${dirs[@]}"; do
  [[ -n "$d" && ! -x "$d/nvcc" ]] && clean_path="${clean_path:+$clean_path:}$d"
done
export PATH="$clean_path"
unset CUDACXX CUDA_PATH CUDA_HOME CUDAToolkit_ROOT
if command -v nvcc >/dev/null; then echo "check_no_nvcc: nvcc still visible" >&2; exit 1; fi

generator=()
command -v ninja >/dev/null && generator=(-G Ninja)
cmake -S . -B "$BUILD_DIR" "${generator[@]}" -DPython3_EXECUTABLE="$(command -v "$PYTHON")" \
  -DCMAKE_BUILD_TYPE=Release -DTORCH_ACCEL_BUILD_TESTS=OFF
grep -q "TORCH_ACCEL_CUDA:BOOL=OFF" "$BUILD_DIR/CMakeCache.txt" \
  || { echo "check_no_nvcc: TORCH_ACCEL_CUDA is not OFF without nvcc" >&2; exit 1; }
cmake --build "$BUILD_DIR" -j "${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
[[ ! -e "$BUILD_DIR/lib/libtorch_accel_cuda.so" ]] || { echo "check_no_nvcc: plugin was built" >&2; exit 1; }

# The package built here, installed into a scratch copy of the Python sources.
pkg=$(mktemp -d)
trap 'rm -rf "$pkg"' EXIT
cp -r torch_accel "$pkg/"
rm -rf "$pkg/torch_accel/lib" "$pkg"/torch_accel/_C*.so
cmake --install "$BUILD_DIR" --prefix "$pkg/torch_accel" >/dev/null
# From inside the scratch copy: the source tree's own package must not shadow it.
cd "$pkg"
PYTHONPATH="$pkg" "$PYTHON" - <<'PY'
import os, torch, torch_accel
assert os.path.realpath(torch_accel.__file__).startswith(os.path.realpath(os.getcwd())), torch_accel.__file__
stats = torch_accel.cuda_stats()
assert not stats["built"] and not stats["available"], stats
assert "built without CUDA" in stats["reason"], stats["reason"]
x = torch.randn(64, 64)
torch.testing.assert_close((x.to("accel") @ x.to("accel")).cpu(), x @ x)
try:
    torch_accel.configure(cuda=True)
except RuntimeError as e:
    print("configure(cuda=True):", e)
else:
    raise SystemExit("configure(cuda=True) succeeded in a build without CUDA")
print("check_no_nvcc: OK, package at", torch_accel.__file__)
PY
# The CUDA tests against that package: the no-GPU ones pass, the rest skip.
PYTHONPATH="$pkg" "$PYTHON" -m pytest "$root/tests/python/test_cuda.py" -q -p no:cacheprovider \
  --rootdir "$root" -c "$root/pyproject.toml"
