#!/usr/bin/env bash
# Installs what torch_accel needs to build and test. Idempotent: each step
# runs only when its piece is missing.
set -euo pipefail
PYTHON=${PYTHON:-python3}

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

debs=()
command -v cmake >/dev/null || debs+=(cmake)
command -v ninja >/dev/null || debs+=(ninja-build)
command -v g++ >/dev/null || debs+=(g++)
command -v ccache >/dev/null || debs+=(ccache)
[ -f /usr/include/gtest/gtest.h ] || debs+=(libgtest-dev)
[ -f /usr/include/nlohmann/json.hpp ] || debs+=(nlohmann-json3-dev)
if [ ${#debs[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${debs[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${debs[@]}" >/dev/null
fi

# An installed torch >= 2.11 is used as it is; otherwise the pinned CPU wheel.
# Never an unpinned torch: that pulls several GB of CUDA packages.
# Read from the package metadata: importing torch would cost seconds on every `make`.
if ! "$PYTHON" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
major, minor = (int(x) for x in version("torch").split("+")[0].split(".")[:2])
sys.exit(0 if (major, minor) >= (2, 11) else 1)
PY
then
  echo "setup: installing torch==2.13.0"
  "$PYTHON" -m pip install -q torch==2.13.0
fi

missing=$("$PYTHON" - <<'PY'
import importlib.util
wanted = {"pytest": "pytest", "numpy": "numpy", "yaml": "pyyaml", "setuptools": "setuptools",
          "wheel": "wheel", "hypothesis": "hypothesis", "tqdm": "tqdm", "matplotlib": "matplotlib",
          "sklearn": "scikit-learn", "expecttest": "expecttest", "xdist": "pytest-xdist"}
print(" ".join(pkg for mod, pkg in wanted.items() if importlib.util.find_spec(mod) is None))
PY
)
if [ -n "$missing" ]; then
  echo "setup: installing Python packages: $missing"
  "$PYTHON" -m pip install -q $missing
fi

# Real model code for the conformance tests, pinned so a new release cannot change
# what they run. transformers does not depend on torch, so this never pulls one.
if ! "$PYTHON" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if version("transformers") == "5.24.0" else 1)
PY
then
  echo "setup: installing transformers==5.24.0"
  "$PYTHON" -m pip install -q transformers==5.24.0
fi

# The numerics issue's oracles and integrations, pinned for the same reason.
# Neither declares a dependency on torch (checked in their wheels' metadata).
if ! "$PYTHON" - <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
sys.exit(0 if (version("gfloat"), version("torchao")) == ("0.5.2", "0.18.0") else 1)
PY
then
  echo "setup: installing gfloat==0.5.2 torchao==0.18.0"
  "$PYTHON" -m pip install -q gfloat==0.5.2 torchao==0.18.0
fi
