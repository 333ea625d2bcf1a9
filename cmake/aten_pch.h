// The ATen headers most of libtorch_accel's TUs include, precompiled once
// per group of TUs (CMakeLists.txt: target_precompile_headers): parsing them
// costs each TU ~5 s of CPU, loading the PCH ~1.5 s.
//
// None of these pulls in ATen/Functions.h (every at:: op): in a TU that did
// not include it, its overloads would make unqualified calls to the TU's own
// helpers of the same name (layer_norm, rms_norm, ...) ambiguous. The group of
// TUs that include it anyway adds it on top (torch_accel_aten_ops).
#pragma once

#include <ATen/MemoryOverlap.h>
#include <ATen/TensorIterator.h>
#include <ATen/WrapDimUtils.h>
#include <ATen/core/Tensor.h>
#include <ATen/core/dispatch/Dispatcher.h>
#include <ATen/native/TypeProperties.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/empty_like.h>
#include <ATen/ops/result_type.h>
#include <torch/library.h>
