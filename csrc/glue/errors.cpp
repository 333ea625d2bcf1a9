#include <c10/util/Exception.h>

#include "glue/glue.h"

namespace accel::glue {

void rethrow_chip_error() {
  try {
    throw;
  } catch (const chip::OutOfMemory& e) {
    TORCH_CHECK_WITH(OutOfMemoryError, false, e.what());
  } catch (const chip::DeviceIndexError& e) {
    TORCH_CHECK(false, e.what());
  } catch (const chip::ArchError& e) {
    TORCH_CHECK_VALUE(false, e.what());
  } catch (const chip::ConfigError& e) {
    TORCH_CHECK(false, e.what());
  }
}

c10::DeviceIndex resolve_device(c10::DeviceIndex index) {
  auto& runtime = chip::Runtime::get();
  const int resolved = index < 0 ? runtime.current_device() : index;
  chip_call([&] { runtime.check_index(resolved); });
  return static_cast<c10::DeviceIndex>(resolved);
}

}  // namespace accel::glue
