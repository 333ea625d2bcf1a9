"""Builds torch_accel._C and libtorch_accel.so by driving CMake, the one place that lists
C++ sources."""
import os
import pathlib
import subprocess
import sys

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

ROOT = pathlib.Path(__file__).resolve().parent


class CMakeExtension(Extension):
    def __init__(self, name):
        super().__init__(name, sources=[])


class CMakeBuild(build_ext):
    def build_extension(self, ext):
        build_dir = pathlib.Path(os.environ.get("TORCH_ACCEL_BUILD_DIR", ROOT / "build"))
        build_dir.mkdir(parents=True, exist_ok=True)
        env = dict(os.environ, TORCH_DEVICE_BACKEND_AUTOLOAD="0")
        generator = ["-G", "Ninja"] if _has_ninja() else []
        # TORCH_ACCEL_BUILD_TESTS=1/0 turns the test suites on/off; unset, the
        # build directory keeps its choice (off when new).
        tests = os.environ.get("TORCH_ACCEL_BUILD_TESTS")
        test_args = [] if tests is None else [f"-DTORCH_ACCEL_BUILD_TESTS={'ON' if tests == '1' else 'OFF'}"]
        subprocess.run(
            ["cmake", "-S", str(ROOT), "-B", str(build_dir), *generator,
             f"-DPython3_EXECUTABLE={sys.executable}",
             *test_args,
             "-DCMAKE_BUILD_TYPE=Release"],
            check=True, env=env)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "-j", jobs], check=True, env=env)
        self._build_dir = build_dir
        self._install_into(pathlib.Path(self.get_ext_fullpath(ext.name)).parent)

    def copy_extensions_to_source(self):
        # --inplace and editable installs: the source tree's package gets the
        # same files as the wheel's.
        self._install_into(ROOT / "torch_accel")

    def _install_into(self, package_dir):
        """_C, lib/libtorch_accel.so, include/ and the CMake config for
        LibTorch programs, with their install RPATHs ($ORIGIN)."""
        subprocess.run(["cmake", "--install", str(self._build_dir), "--prefix", str(package_dir)],
                       check=True, stdout=subprocess.DEVNULL)
        if not next(package_dir.glob("_C*.so"), None):
            raise RuntimeError(f"cmake --install put no _C module in {package_dir}")


def _has_ninja():
    from shutil import which
    return which("ninja") is not None


setup(ext_modules=[CMakeExtension("torch_accel._C")], cmdclass={"build_ext": CMakeBuild})
