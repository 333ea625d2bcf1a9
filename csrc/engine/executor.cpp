#include "engine/executor.h"

#include <dlfcn.h>

#include <atomic>
#include <mutex>
#include <stdexcept>
#include <string>

#include "cuda/accel_cuda.h"

namespace accel::engine {
namespace {

struct Plugin {
  int (*abi_version)() = nullptr;
  int (*device_count)(char*, size_t) = nullptr;
  int (*gemm)(const AccelCudaGemm*, char*, size_t) = nullptr;
};

std::mutex g_load_mutex;
Plugin g_plugin;  // set once, under g_load_mutex, before g_on first turns true
std::atomic<bool> g_on{false};
std::atomic<int64_t> g_min_multiplies{int64_t(1) << 22};
std::atomic<int64_t> g_pending_products{0};
std::atomic<int64_t> g_cpu_programs{0}, g_cuda_programs{0}, g_cuda_products{0};

#ifdef ACCEL_CUDA_PLUGIN_BUILT
// The plugin sits next to libtorch_accel.so (the build's lib/ and the
// package's torch_accel/lib/ alike).
std::string plugin_path() {
  Dl_info info{};
  if (dladdr(reinterpret_cast<void*>(&cuda_executor_built), &info) == 0 || !info.dli_fname)
    throw std::runtime_error("GPU executor: cannot locate libtorch_accel.so to find its plugin");
  std::string dir = info.dli_fname;
  const size_t slash = dir.rfind('/');
  dir = slash == std::string::npos ? "." : dir.substr(0, slash);
  return dir + "/libtorch_accel_cuda.so";
}

template <class F>
void bind(void* lib, const char* name, F& fn) {
  fn = reinterpret_cast<F>(dlsym(lib, name));
  if (!fn) throw std::runtime_error(std::string("GPU executor: the plugin lacks ") + name);
}

void load_plugin() {
  if (g_plugin.gemm) return;
  const std::string path = plugin_path();
  void* lib = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!lib) throw std::runtime_error("GPU executor: cannot load " + path + ": " + dlerror());
  Plugin p;
  bind(lib, "accel_cuda_abi_version", p.abi_version);
  bind(lib, "accel_cuda_device_count", p.device_count);
  bind(lib, "accel_cuda_gemm", p.gemm);
  if (p.abi_version() != ACCEL_CUDA_ABI_VERSION)
    throw std::runtime_error("GPU executor: " + path + " is from another build (ABI version " +
                             std::to_string(p.abi_version()) + ", expected " +
                             std::to_string(ACCEL_CUDA_ABI_VERSION) + ")");
  g_plugin = p;  // the library stays loaded for the life of the process
}
#endif

int plugin_dtype(DType dt) {
  switch (dt) {
    case DType::F32: return ACCEL_CUDA_F32;
    case DType::BF16: return ACCEL_CUDA_BF16;
    case DType::F16: return ACCEL_CUDA_F16;
    default: return -1;
  }
}

bool to_plugin(const HostOperand& x, AccelCudaOperand& out) {
  out = {x.data, plugin_dtype(x.dtype), x.batch_stride, x.row_stride, x.col_stride};
  return out.dtype >= 0 && x.batch_stride >= 0 && x.row_stride >= 0 && x.col_stride >= 0;
}

}  // namespace

bool cuda_executor_built() {
#ifdef ACCEL_CUDA_PLUGIN_BUILT
  return true;
#else
  return false;
#endif
}

std::string cuda_executor_unavailable_reason() {
#ifdef ACCEL_CUDA_PLUGIN_BUILT
  std::lock_guard<std::mutex> lock(g_load_mutex);
  try {
    load_plugin();
  } catch (const std::runtime_error& e) {
    return e.what();
  }
  char err[512] = {0};
  if (g_plugin.device_count(err, sizeof err) <= 0)
    return std::string("GPU executor unavailable: ") + err;
  return "";
#else
  return "GPU executor unavailable: torch_accel was built without CUDA (nvcc was not found at "
         "build time, or CMake ran with -DTORCH_ACCEL_CUDA=OFF); see docs/CUDA.md";
#endif
}

void set_cuda_executor(bool on) {
  if (on) {
    const std::string reason = cuda_executor_unavailable_reason();
    if (!reason.empty()) throw std::runtime_error(reason);
  }
  g_on.store(on);
}

bool cuda_executor_on() { return g_on.load(std::memory_order_relaxed); }

void set_cuda_min_multiplies(int64_t n) {
  if (n < 0) throw std::invalid_argument("the GPU executor's minimum product size must be >= 0");
  g_min_multiplies.store(n);
}
int64_t cuda_min_multiplies() { return g_min_multiplies.load(std::memory_order_relaxed); }

bool cuda_matrix_engine(const char* op, int64_t batch, int64_t M, int64_t N, int64_t K,
                        const HostOperand& a, const HostOperand& b, float* c,
                        int64_t c_batch_stride, int64_t ldc, float beta, bool reduce_batch,
                        const ComputeConfig& cfg) {
  if (!cuda_executor_on()) return false;
  // Saturating: batch * M * N * K can exceed int64 only for products no arena holds.
  const double multiplies = double(batch) * double(M) * double(N) * double(K);
  if (multiplies < double(cuda_min_multiplies())) return false;
  AccelCudaGemm job{};
  if (!to_plugin(a, job.a) || !to_plugin(b, job.b)) return false;
  job.batch = batch;
  job.M = M;
  job.N = N;
  job.K = K;
  job.c = c;
  job.c_batch_stride = c_batch_stride;
  job.ldc = ldc;
  job.beta = beta;
  job.reduce_batch = reduce_batch;
  job.fidelity = static_cast<int>(cfg.fidelity);
  job.fp32_dest_acc = cfg.fp32_dest_acc;
  char err[512] = {0};
  if (g_plugin.gemm(&job, err, sizeof err) != 0)
    throw std::runtime_error(std::string(op) + ": GPU executor failed on a " + std::to_string(M) +
                             "x" + std::to_string(K) + " @ " + std::to_string(K) + "x" +
                             std::to_string(N) + " product: " + err);
  g_pending_products.fetch_add(1);
  g_cuda_products.fetch_add(1);
  return true;
}

const char* take_program_executor() {
  if (g_pending_products.exchange(0) > 0) {
    g_cuda_programs.fetch_add(1);
    return "cuda";
  }
  g_cpu_programs.fetch_add(1);
  return "cpu";
}

ExecutorStats executor_stats() {
  return {g_cpu_programs.load(), g_cuda_programs.load(), g_cuda_products.load()};
}

void reset_executor_stats() {
  g_cpu_programs.store(0);
  g_cuda_programs.store(0);
  g_cuda_products.store(0);
}

}  // namespace accel::engine
