"""Builds torch_accel._C by driving CMake, the one place that lists C++ sources."""
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
        tests = "ON" if os.environ.get("TORCH_ACCEL_BUILD_TESTS") == "1" else "OFF"
        subprocess.run(
            ["cmake", "-S", str(ROOT), "-B", str(build_dir), *generator,
             f"-DPython3_EXECUTABLE={sys.executable}",
             f"-DTORCH_ACCEL_BUILD_TESTS={tests}",
             "-DCMAKE_BUILD_TYPE=Release"],
            check=True, env=env)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL", str(os.cpu_count() or 2))
        subprocess.run(["cmake", "--build", str(build_dir), "-j", jobs], check=True, env=env)
        built = next(build_dir.glob("_C*.so"))
        target = pathlib.Path(self.get_ext_fullpath(ext.name))
        target.parent.mkdir(parents=True, exist_ok=True)
        self.copy_file(str(built), str(target))


def _has_ninja():
    from shutil import which
    return which("ninja") is not None


setup(ext_modules=[CMakeExtension("torch_accel._C")], cmdclass={"build_ext": CMakeBuild})
