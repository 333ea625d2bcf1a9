# torch's C++ side for code that runs on the host CPU (the accel device is
# PrivateUse1, emulated on the host): torch's headers and libtorch,
# libtorch_cpu and libc10, as an imported target. find_package(Torch) is not
# used because for a CUDA build of torch (the GPU machines' 2.11 + CUDA 13, or
# any `pip install torch` with CUDA) TorchConfig.cmake stops unless it finds a
# CUDA toolkit's headers and libcudart, which the pip packages do not provide
# where CMake looks; nothing here needs them.
#
# torch_cpu_target(<target> <torch package directory> <_GLIBCXX_USE_CXX11_ABI: 0 or 1>)
# Installed next to TorchAccelConfig.cmake, which calls it for LibTorch programs.
function(torch_cpu_target target root abi)
  if(TARGET ${target})
    return()
  endif()
  set(libs "")
  foreach(name torch torch_cpu c10)
    find_library(_torch_cpu_lib ${name} PATHS "${root}/lib" NO_DEFAULT_PATH NO_CACHE)
    if(NOT _torch_cpu_lib)
      message(FATAL_ERROR "lib${name}.so is not in ${root}/lib: ${root} is not a torch package")
    endif()
    list(APPEND libs "${_torch_cpu_lib}")
    unset(_torch_cpu_lib)
  endforeach()
  # torch_cpu's own definitions (USE_DISTRIBUTED, USE_RPC, ...), as its CMake
  # targets give them: inline code and class layouts in torch's headers
  # depend on them, and must be those libtorch_cpu was compiled with.
  set(defs "_GLIBCXX_USE_CXX11_ABI=${abi}")
  set(targets_file "${root}/share/cmake/Caffe2/Caffe2Targets.cmake")
  if(EXISTS "${targets_file}")
    file(READ "${targets_file}" targets)
    if(targets MATCHES "set_target_properties\\(torch_cpu PROPERTIES[^)]*INTERFACE_COMPILE_DEFINITIONS \"([^\"]*)\"")
      list(APPEND defs ${CMAKE_MATCH_1})
    endif()
  endif()
  add_library(${target} INTERFACE IMPORTED)
  set_target_properties(${target} PROPERTIES
    INTERFACE_INCLUDE_DIRECTORIES "${root}/include;${root}/include/torch/csrc/api/include"
    INTERFACE_LINK_LIBRARIES "${libs}"
    INTERFACE_COMPILE_DEFINITIONS "${defs}")
endfunction()
