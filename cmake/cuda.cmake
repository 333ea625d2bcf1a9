# The optional GPU executor (docs/CUDA.md): libtorch_accel_cuda.so, a
# torch-free plugin built from csrc/cuda with the static CUDA runtime.
# libtorch_accel.so dlopens it only when the executor is switched on, so the
# package loads on hosts without CUDA libraries or a GPU driver.
include(CheckLanguage)
if(NOT DEFINED TORCH_ACCEL_CUDA)
  check_language(CUDA)
endif()
set(_accel_cuda_default OFF)
if(CMAKE_CUDA_COMPILER)
  set(_accel_cuda_default ON)
endif()
option(TORCH_ACCEL_CUDA "Build the GPU executor plugin (needs nvcc; on when CMake finds one)"
       ${_accel_cuda_default})

if(TORCH_ACCEL_CUDA)
  # Hopper (H100/H200) machine code, plus its PTX for newer GPUs to JIT.
  if(NOT DEFINED CMAKE_CUDA_ARCHITECTURES)
    set(CMAKE_CUDA_ARCHITECTURES 90-real 90-virtual)
  endif()
  enable_language(CUDA)
  find_package(CUDAToolkit REQUIRED)
  add_library(torch_accel_cuda SHARED csrc/cuda/matrix_engine.cu)
  target_include_directories(torch_accel_cuda PRIVATE csrc/cuda)
  target_link_libraries(torch_accel_cuda PRIVATE CUDA::cudart_static)
  set_target_properties(torch_accel_cuda PROPERTIES
    CUDA_STANDARD 17 CUDA_STANDARD_REQUIRED ON
    CUDA_RUNTIME_LIBRARY Static
    LIBRARY_OUTPUT_DIRECTORY "${CMAKE_CURRENT_BINARY_DIR}/lib")
  # Next to libtorch_accel.so, where engine/executor.cpp looks for it.
  install(TARGETS torch_accel_cuda LIBRARY DESTINATION lib)
  set_source_files_properties(csrc/engine/executor.cpp PROPERTIES
    COMPILE_DEFINITIONS ACCEL_CUDA_PLUGIN_BUILT)
  # Built with the package, so `import torch_accel` finds a current plugin.
  add_dependencies(torch_accel torch_accel_cuda)
  target_link_libraries(accel_engine PUBLIC ${CMAKE_DL_LIBS})  # dlopen of the plugin
endif()
message(STATUS "torch_accel GPU executor (TORCH_ACCEL_CUDA): ${TORCH_ACCEL_CUDA}")
