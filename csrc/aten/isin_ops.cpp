// torch.isin (Hugging Face generate() checks every step's tokens against the
// stop tokens with it): each element compared with every test element, in
// chunks of test elements so the comparison matrix stays small, the "any"
// reduction over each chunk ORed into the result. Comparison promotes both
// sides to their common dtype, as ATen's CPU kernel does; NaN matches nothing.
#include <ATen/ScalarOps.h>
#include <ATen/native/Resize.h>
#include <ATen/ops/empty.h>
#include <ATen/ops/eq.h>
#include <torch/library.h>

#include <algorithm>

#include "aten/engine_bridge.h"
#include "aten/fallback.h"

namespace accel::aten {
namespace {

// The most element-to-test-element comparisons one chunk materializes.
constexpr int64_t kComparisonsPerChunk = int64_t{1} << 22;

void check_isin_dtype(at::ScalarType t) {
  TORCH_CHECK(t != at::kBool && !at::isComplexType(t),
              "Unsupported input type encountered for isin(): ", t);
}

// Whether the tile kernels take t (else the op falls back), after ATen's dtype check.
bool takes(const at::Tensor& t) {
  check_isin_dtype(t.scalar_type());
  return tile_dtype_of(t.scalar_type()).has_value();
}

at::Tensor& isin_into(const at::Tensor& elements, const at::Tensor& test_elements, bool invert,
                      at::Tensor& out) {
  check_isin_dtype(elements.scalar_type());
  check_isin_dtype(test_elements.scalar_type());
  TORCH_CHECK(out.scalar_type() == at::kBool, "isin: expected out to have dtype Bool, but got ",
              out.scalar_type());
  at::native::resize_output(out, elements.sizes());
  if (elements.numel() == 0) return out;
  const at::Tensor column = elements.unsqueeze(-1);
  const at::Tensor flat_test = test_elements.reshape({-1});
  const int64_t chunk = std::max<int64_t>(1, kComparisonsPerChunk / elements.numel());
  at::Tensor found;
  for (int64_t start = 0; start < flat_test.numel(); start += chunk) {
    at::Tensor hits = at::eq(column, flat_test.slice(0, start, start + chunk)).any(-1);
    found = found.defined() ? found.logical_or_(hits) : hits;
  }
  if (!found.defined()) return out.fill_(invert);  // no test elements
  return out.copy_(invert ? found.logical_not() : found);
}

at::Tensor bool_like(const at::Tensor& elements) {
  return at::empty(elements.sizes(), elements.options().dtype(at::kBool));
}

}  // namespace

TORCH_LIBRARY_IMPL(aten, PrivateUse1, m) {
  m.impl("isin.Tensor_Tensor", [](const at::Tensor& elements, const at::Tensor& test_elements,
                                  bool assume_unique, bool invert) {
    if (!takes(elements) || !takes(test_elements))
      return fallback_call("aten::isin", "Tensor_Tensor", {elements, test_elements, assume_unique, invert});
    at::Tensor out = bool_like(elements);
    return isin_into(elements, test_elements, invert, out);
  });
  m.impl("isin.Tensor_Tensor_out", [](const at::Tensor& elements, const at::Tensor& test_elements,
                                      bool assume_unique, bool invert, at::Tensor& out) -> at::Tensor& {
    if (!takes(elements) || !takes(test_elements)) {
      fallback_call("aten::isin", "Tensor_Tensor_out", {elements, test_elements, assume_unique, invert, out});
      return out;
    }
    return isin_into(elements, test_elements, invert, out);
  });
  m.impl("isin.Tensor_Scalar", [](const at::Tensor& elements, const at::Scalar& test_element,
                                  bool assume_unique, bool invert) {
    if (!takes(elements))
      return fallback_call("aten::isin", "Tensor_Scalar", {elements, test_element, assume_unique, invert});
    const at::Tensor test = at::native::wrapped_scalar_tensor(test_element, elements.device());
    at::Tensor out = bool_like(elements);
    return isin_into(elements, test, invert, out);
  });
  m.impl("isin.Tensor_Scalar_out", [](const at::Tensor& elements, const at::Scalar& test_element,
                                      bool assume_unique, bool invert, at::Tensor& out) -> at::Tensor& {
    if (!takes(elements)) {
      fallback_call("aten::isin", "Tensor_Scalar_out", {elements, test_element, assume_unique, invert, out});
      return out;
    }
    const at::Tensor test = at::native::wrapped_scalar_tensor(test_element, elements.device());
    return isin_into(elements, test, invert, out);
  });
  m.impl("isin.Scalar_Tensor", [](const at::Scalar& element, const at::Tensor& test_elements,
                                  bool assume_unique, bool invert) {
    if (!takes(test_elements))
      return fallback_call("aten::isin", "Scalar_Tensor", {element, test_elements, assume_unique, invert});
    const at::Tensor elements = at::native::wrapped_scalar_tensor(element, test_elements.device());
    at::Tensor out = bool_like(elements);
    return isin_into(elements, test_elements, invert, out);
  });
  m.impl("isin.Scalar_Tensor_out", [](const at::Scalar& element, const at::Tensor& test_elements,
                                      bool assume_unique, bool invert, at::Tensor& out) -> at::Tensor& {
    if (!takes(test_elements)) {
      fallback_call("aten::isin", "Scalar_Tensor_out", {element, test_elements, assume_unique, invert, out});
      return out;
    }
    const at::Tensor elements = at::native::wrapped_scalar_tensor(element, test_elements.device());
    return isin_into(elements, test_elements, invert, out);
  });
}

}  // namespace accel::aten
