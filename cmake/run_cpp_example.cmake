# CTest driver for examples/cpp: asks the Python package where its CMake
# config is (torch_accel.cmake_prefix_path), configures and builds the example
# against it with find_package(TorchAccel), and runs it.
# Arguments: PYTHON, SOURCE_DIR, BINARY_DIR, GENERATOR, LAUNCHER (may be empty).
set(ENV{PYTHONPATH} "${SOURCE_DIR}")
set(ENV{TORCH_DEVICE_BACKEND_AUTOLOAD} "0")
execute_process(
  COMMAND "${PYTHON}" -c "import torch_accel; print(torch_accel.cmake_prefix_path)"
  OUTPUT_VARIABLE prefix OUTPUT_STRIP_TRAILING_WHITESPACE COMMAND_ERROR_IS_FATAL ANY)
message(STATUS "torch_accel.cmake_prefix_path = ${prefix}")

set(launcher_arg "")
if(LAUNCHER)
  set(launcher_arg "-DCMAKE_CXX_COMPILER_LAUNCHER=${LAUNCHER}")
endif()
execute_process(
  COMMAND "${CMAKE_COMMAND}" -S "${SOURCE_DIR}/examples/cpp" -B "${BINARY_DIR}" -G "${GENERATOR}"
          "-DCMAKE_PREFIX_PATH=${prefix}" -DCMAKE_BUILD_TYPE=Release ${launcher_arg}
  COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${CMAKE_COMMAND}" --build "${BINARY_DIR}" COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND "${BINARY_DIR}/accel_example" COMMAND_ERROR_IS_FATAL ANY)
