#!/usr/bin/env bash
# Builds torch_accel with AddressSanitizer and UBSan in its own build directory,
# runs every GoogleTest suite under them, then a representative pytest subset
# against the sanitized extension. ./build and the package's installed
# torch_accel/_C*.so and torch_accel/lib are left alone: the sanitized package
# is staged in the build directory and put first on PYTHONPATH.
#
#   scripts/sanitize.sh [extra pytest args]
#   TORCH_ACCEL_SANITIZE_DIR   build directory (default: build-sanitize)
#   TORCH_ACCEL_SANITIZE_TESTS pytest files to run (default: the list below)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PYTHON="${PYTHON:-python3}"
BUILD="${TORCH_ACCEL_SANITIZE_DIR:-$ROOT/build-sanitize}"
case "$BUILD" in /*) ;; *) BUILD="$ROOT/$BUILD" ;; esac
if [ "$(realpath -m "$BUILD")" = "$(realpath -m "$ROOT/build")" ]; then
  echo "sanitize.sh: TORCH_ACCEL_SANITIZE_DIR must not be ./build" >&2
  exit 2
fi
SITE="$BUILD/site"
LOGS="$BUILD/sanitizer-logs"
JOBS="${CMAKE_BUILD_PARALLEL_LEVEL:-$(nproc)}"
PYTEST_FILES="${TORCH_ACCEL_SANITIZE_TESTS:-tests/python/test_ops_eltwise.py tests/python/test_ops_matmul.py
  tests/python/test_ops_conv.py tests/python/test_conv3d.py tests/python/test_ops_norm.py
  tests/python/test_ops_reduce.py tests/python/test_views.py tests/python/test_memory.py
  tests/python/test_rnn.py tests/python/test_optim.py tests/python/test_ops_eltwise_math.py
  tests/python/test_ops_pad.py tests/python/test_model_ops.py tests/python/test_bad_input.py
  tests/python/test_threads.py tests/fuzz/test_fuzz.py tests/fuzz/test_fuzz_regressions.py}"

start=$(date +%s)
generator=()
command -v ninja >/dev/null && generator=(-G Ninja)

echo "== configure and build ($BUILD)"
# -O1: ASan's recommended level, and the build is a third faster than -O2.
TORCH_DEVICE_BACKEND_AUTOLOAD=0 cmake -S "$ROOT" -B "$BUILD" "${generator[@]}" \
  -DPython3_EXECUTABLE="$(command -v "$PYTHON")" \
  -DTORCH_ACCEL_SANITIZE=ON -DTORCH_ACCEL_BUILD_TESTS=ON \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_CXX_FLAGS_RELWITHDEBINFO="-O1 -g1" >/dev/null
TORCH_DEVICE_BACKEND_AUTOLOAD=0 cmake --build "$BUILD" -j "$JOBS"

# The Python sources next to the sanitized _C and libtorch_accel.so.
rm -rf "$SITE"
mkdir -p "$SITE/torch_accel"
(cd "$ROOT" && find torch_accel -name '*.py' -exec cp --parents {} "$SITE" \;)
cmake --install "$BUILD" --prefix "$SITE/torch_accel" >/dev/null

rm -rf "$LOGS"
mkdir -p "$LOGS"
# libasan must be the first library of a process whose executable (python3)
# is not instrumented, and libstdc++ must be loaded when it starts, or its
# __cxa_throw interceptor finds nothing and the first C++ exception aborts.
# Leak checking is off: CPython and torch keep their interned objects and
# registries until exit, by design.
PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libstdc++.so)"
export ASAN_OPTIONS="detect_leaks=0:abort_on_error=1:strict_init_order=1:detect_stack_use_after_return=0:log_path=$LOGS/asan"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$LOGS/ubsan"

echo "== GoogleTest suites"
# cpp_example builds examples/cpp against the installed (unsanitized) package,
# so it is not part of this run.
# Every report stops its process (halt_on_error, -fno-sanitize-recover), so it
# fails its step; ASan writes its reports to $LOGS, shown at the end.
status=0
ctest --test-dir "$BUILD" -E '^cpp_example$' -j "$JOBS" --output-on-failure || status=$?

echo "== pytest subset with the sanitized extension"
# -P: the working directory (the source tree, whose torch_accel/ holds the
# unsanitized build) stays off sys.path.
# shellcheck disable=SC2086
(cd "$ROOT" && PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" LD_PRELOAD="$PRELOAD" \
  TORCH_ACCEL_EXPECT_PACKAGE="$SITE/torch_accel" \
  "$PYTHON" -P -c "import torch_accel, os, sys; p = os.path.dirname(torch_accel.__file__); \
sys.exit(0 if p == os.environ['TORCH_ACCEL_EXPECT_PACKAGE'] else f'torch_accel imported from {p}')" && \
  PYTHONPATH="$SITE${PYTHONPATH:+:$PYTHONPATH}" LD_PRELOAD="$PRELOAD" \
  "$PYTHON" -P -m pytest $PYTEST_FILES -q -p no:cacheprovider "$@") || status=$?

# The sanitizers write a log file only when they report something.
if compgen -G "$LOGS/*" >/dev/null; then
  echo "sanitize.sh: sanitizer reports in $LOGS:" >&2
  head -n 60 "$LOGS"/* >&2
  exit 1
fi
if [ "$status" -ne 0 ]; then
  echo "sanitize.sh: a test failed (exit status $status)" >&2
  exit "$status"
fi
echo "== sanitize: clean in $(( $(date +%s) - start )) s"
