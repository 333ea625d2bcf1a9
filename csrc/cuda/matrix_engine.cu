// The GPU executor plugin: the matrix engine's product (engine/matrix_engine.h)
// as one CUDA kernel. Torch-free; linked with the static CUDA runtime, so the
// library needs only the driver (libcuda) at run time, and is dlopen'ed by
// libtorch_accel.so only when the GPU executor is switched on.
//
// One kernel reproduces every configuration the CPU kernels do: the fidelity
// passes split the operands with the same bit masks as they are staged into
// shared memory, and a bf16 destination is rounded (nearest even, as c10
// rounds) after every 32-deep K tile, the chip's tile. Each thread owns 4x4
// outputs and accumulates K in order with fused multiply-adds.
#include <cuda_fp16.h>
#include <cuda_runtime.h>

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>

#include "accel_cuda.h"

namespace {

constexpr int kTileK = 32;      // the chip's K tile: a bf16 Dst rounds after each
constexpr int kBlockM = 64;     // output rows per thread block
constexpr int kBlockN = 64;     // output columns per thread block
constexpr int kThreadsX = 16;   // threads along N; each owns kBlockN / kThreadsX columns
constexpr int kThreadsY = 16;   // threads along M
constexpr int kPerThread = 4;   // = kBlockM / kThreadsY = kBlockN / kThreadsX
constexpr int kThreads = kThreadsX * kThreadsY;
constexpr int64_t kMaxGridY = 65535, kMaxGridZ = 65535;

// As kernels/matmul/matrix_engine.cpp: sign, exponent and the mantissa bits
// one multiplier pass sees (SrcA: hidden + 4 bits, SrcB: hidden + 6 bits).
constexpr uint32_t kSrcAMask = 0xFFFFFFFFu << 19;
constexpr uint32_t kSrcBMask = 0xFFFFFFFFu << 17;

__device__ __forceinline__ float keep_bits(float x, uint32_t mask) {
  return __uint_as_float(__float_as_uint(x) & mask);
}

// c10::detail::round_to_nearest_even, kept in fp32.
__device__ __forceinline__ float round_bf16(float x) {
  if (isnan(x)) return __uint_as_float(0x7FC00000u);
  const uint32_t bits = __float_as_uint(x);
  return __uint_as_float((bits + 0x7FFFu + ((bits >> 16) & 1u)) & 0xFFFF0000u);
}

__device__ __forceinline__ float load(const void* base, int dtype, int64_t index) {
  switch (dtype) {
    case ACCEL_CUDA_BF16:
      return __uint_as_float(uint32_t(static_cast<const uint16_t*>(base)[index]) << 16);
    case ACCEL_CUDA_F16: return __half2float(static_cast<const __half*>(base)[index]);
    default: return static_cast<const float*>(base)[index];
  }
}

struct KernelArgs {
  const void *a, *b;  // device copies; element 0 of each operand at offset 0
  int a_dtype, b_dtype;
  int64_t a_bs, a_rs, a_cs, b_bs, b_rs, b_cs;
  int64_t batch, M, N, K;
  float* c;  // device, [out_batches, M, N] contiguous
  float beta;
  int reduce_batch, fp32_dest_acc;
  int64_t first_row_block, first_out_batch;  // grid offsets when a launch is split
};

// Fidelity 1..4 (LoFi..HiFi4). Pass 1 multiplies (a1, b1); HiFi3 adds the
// pass (a2, b2) = (A_hi, B_lo). LoFi = A_hi B_hi, HiFi2 = A B_hi, HiFi4 = A B.
template <int Fidelity>
__global__ void __launch_bounds__(kThreads) matrix_engine_kernel(KernelArgs p) {
  constexpr int kSecond = Fidelity == 3 ? kTileK : 1;
  __shared__ float a1[kTileK][kBlockM + 1], a2[kSecond][kBlockM + 1];  // +1: no bank conflicts
  __shared__ float b1[kTileK][kBlockN], b2[kSecond][kBlockN];          // on the transposing store
  const int tx = threadIdx.x, ty = threadIdx.y, tid = ty * kThreadsX + tx;
  const int64_t row0 = (p.first_row_block + blockIdx.y) * kBlockM;
  const int64_t col0 = int64_t(blockIdx.x) * kBlockN;
  const int64_t out_batch = p.first_out_batch + blockIdx.z;
  float* c = p.c + out_batch * p.M * p.N;

  float acc[kPerThread][kPerThread];
  for (int i = 0; i < kPerThread; ++i)
    for (int j = 0; j < kPerThread; ++j) {
      const int64_t r = row0 + ty + kThreadsY * i, col = col0 + tx + kThreadsX * j;
      acc[i][j] = (p.beta != 0.f && r < p.M && col < p.N) ? p.beta * c[r * p.N + col] : 0.f;
    }

  bool any_tile = false;
  const int64_t i_begin = p.reduce_batch ? 0 : out_batch;
  const int64_t i_end = p.reduce_batch ? p.batch : out_batch + 1;
  for (int64_t bi = i_begin; bi < i_end; ++bi) {
    for (int64_t k0 = 0; k0 < p.K; k0 += kTileK) {
      const int kc = p.K - k0 < kTileK ? int(p.K - k0) : kTileK;
      // Stage the tile; consecutive threads read consecutive k of A and n of B.
      for (int e = tid; e < kTileK * kBlockM; e += kThreads) {
        const int kk = e % kTileK, m = e / kTileK;
        const int64_t r = row0 + m;
        const float v = (r < p.M && kk < kc)
                            ? load(p.a, p.a_dtype, bi * p.a_bs + r * p.a_rs + (k0 + kk) * p.a_cs)
                            : 0.f;
        a1[kk][m] = Fidelity == 1 ? keep_bits(v, kSrcAMask) : v;
        if (Fidelity == 3) a2[kk][m] = keep_bits(v, kSrcAMask);
      }
      for (int e = tid; e < kTileK * kBlockN; e += kThreads) {
        const int n = e % kBlockN, kk = e / kBlockN;
        const int64_t col = col0 + n;
        const float v = (col < p.N && kk < kc)
                            ? load(p.b, p.b_dtype, bi * p.b_bs + (k0 + kk) * p.b_rs + col * p.b_cs)
                            : 0.f;
        b1[kk][n] = Fidelity == 4 ? v : keep_bits(v, kSrcBMask);
        if (Fidelity == 3) b2[kk][n] = v - keep_bits(v, kSrcBMask);
      }
      __syncthreads();
      // Only the kc real rows of K: padding would add +0 and could flip a -0.
      for (int k = 0; k < kc; ++k) {
        for (int i = 0; i < kPerThread; ++i)
          for (int j = 0; j < kPerThread; ++j) {
            acc[i][j] = fmaf(a1[k][ty + kThreadsY * i], b1[k][tx + kThreadsX * j], acc[i][j]);
            if (Fidelity == 3)
              acc[i][j] = fmaf(a2[k][ty + kThreadsY * i], b2[k][tx + kThreadsX * j], acc[i][j]);
          }
      }
      __syncthreads();
      if (!p.fp32_dest_acc)
        for (int i = 0; i < kPerThread; ++i)
          for (int j = 0; j < kPerThread; ++j) acc[i][j] = round_bf16(acc[i][j]);
      any_tile = true;
    }
  }
  if (!any_tile && !p.fp32_dest_acc)  // K == 0: Dst still holds bf16
    for (int i = 0; i < kPerThread; ++i)
      for (int j = 0; j < kPerThread; ++j) acc[i][j] = round_bf16(acc[i][j]);

  for (int i = 0; i < kPerThread; ++i)
    for (int j = 0; j < kPerThread; ++j) {
      const int64_t r = row0 + ty + kThreadsY * i, col = col0 + tx + kThreadsX * j;
      if (r < p.M && col < p.N) c[r * p.N + col] = acc[i][j];
    }
}

// Grow-only device buffers, reused across calls (one GPU, calls serialized).
struct DeviceBuffer {
  void* ptr = nullptr;
  size_t bytes = 0;
  cudaError_t reserve(size_t need) {
    if (need <= bytes) return cudaSuccess;
    if (ptr) cudaFree(ptr);
    ptr = nullptr;
    bytes = 0;
    const cudaError_t e = cudaMalloc(&ptr, need);
    if (e == cudaSuccess) bytes = need;
    return e;
  }
};

std::mutex g_mutex;
DeviceBuffer g_a, g_b, g_c;

void set_error(char* err, size_t err_len, const std::string& msg) {
  if (err && err_len) std::snprintf(err, err_len, "%s", msg.c_str());
}

std::string cuda_error(const char* what, cudaError_t e) {
  return std::string(what) + ": " + cudaGetErrorName(e) + " (" + cudaGetErrorString(e) + ")";
}

int dtype_bytes(int dtype) { return dtype == ACCEL_CUDA_F32 ? 4 : 2; }

// Elements from an operand's first to its last (strides are >= 0).
int64_t span_elements(const AccelCudaOperand& x, int64_t batch, int64_t rows, int64_t cols) {
  if (batch == 0 || rows == 0 || cols == 0) return 0;
  return 1 + (batch - 1) * x.batch_stride + (rows - 1) * x.row_stride + (cols - 1) * x.col_stride;
}

std::string check_job(const AccelCudaGemm& j) {
  if (j.batch < 0 || j.M < 0 || j.N < 0 || j.K < 0) return "negative size";
  if (j.fidelity < 1 || j.fidelity > 4) return "math fidelity must be 1 to 4";
  for (const AccelCudaOperand* x : {&j.a, &j.b}) {
    if (x->dtype < ACCEL_CUDA_F32 || x->dtype > ACCEL_CUDA_F16) return "unsupported operand dtype";
    if (x->batch_stride < 0 || x->row_stride < 0 || x->col_stride < 0) return "negative stride";
  }
  if (j.ldc < j.N) return "ldc is smaller than N";
  return "";
}

std::string run(const AccelCudaGemm& j) {
  if (std::string bad = check_job(j); !bad.empty()) return "invalid product: " + bad;
  const int64_t out_batches = j.reduce_batch ? 1 : j.batch;
  if (j.M == 0 || j.N == 0 || out_batches == 0) return "";
  cudaError_t e = cudaSetDevice(0);
  if (e != cudaSuccess) return cuda_error("cudaSetDevice", e);

  const int64_t a_span = span_elements(j.a, j.batch, j.M, j.K);
  const int64_t b_span = span_elements(j.b, j.batch, j.K, j.N);
  const size_t a_bytes = size_t(a_span) * dtype_bytes(j.a.dtype);
  const size_t b_bytes = size_t(b_span) * dtype_bytes(j.b.dtype);
  const size_t c_row = size_t(j.N) * sizeof(float);
  const size_t c_bytes = size_t(out_batches) * size_t(j.M) * c_row;
  if ((e = g_a.reserve(std::max<size_t>(a_bytes, 4))) != cudaSuccess)
    return cuda_error("cudaMalloc (A)", e);
  if ((e = g_b.reserve(std::max<size_t>(b_bytes, 4))) != cudaSuccess)
    return cuda_error("cudaMalloc (B)", e);
  if ((e = g_c.reserve(c_bytes)) != cudaSuccess) return cuda_error("cudaMalloc (C)", e);
  if (a_bytes && (e = cudaMemcpy(g_a.ptr, j.a.data, a_bytes, cudaMemcpyHostToDevice)))
    return cuda_error("cudaMemcpy (A to GPU)", e);
  if (b_bytes && (e = cudaMemcpy(g_b.ptr, j.b.data, b_bytes, cudaMemcpyHostToDevice)))
    return cuda_error("cudaMemcpy (B to GPU)", e);
  float* dc = static_cast<float*>(g_c.ptr);
  if (j.beta != 0.f)
    for (int64_t o = 0; o < out_batches; ++o)
      if ((e = cudaMemcpy2D(dc + o * j.M * j.N, c_row, j.c + o * j.c_batch_stride,
                            size_t(j.ldc) * sizeof(float), c_row, size_t(j.M),
                            cudaMemcpyHostToDevice)) != cudaSuccess)
        return cuda_error("cudaMemcpy2D (C to GPU)", e);

  KernelArgs p{g_a.ptr, g_b.ptr, j.a.dtype, j.b.dtype,
               j.a.batch_stride, j.a.row_stride, j.a.col_stride,
               j.b.batch_stride, j.b.row_stride, j.b.col_stride,
               j.batch, j.M, j.N, j.K, dc, j.beta, j.reduce_batch, j.fp32_dest_acc, 0, 0};
  const int64_t row_blocks = (j.M + kBlockM - 1) / kBlockM;
  const unsigned col_blocks = unsigned((j.N + kBlockN - 1) / kBlockN);
  const dim3 threads(kThreadsX, kThreadsY);
  // Grid y and z are limited to 65535: larger products launch in pieces.
  for (int64_t z0 = 0; z0 < out_batches; z0 += kMaxGridZ)
    for (int64_t y0 = 0; y0 < row_blocks; y0 += kMaxGridY) {
      p.first_out_batch = z0;
      p.first_row_block = y0;
      const dim3 grid(col_blocks, unsigned(std::min(kMaxGridY, row_blocks - y0)),
                      unsigned(std::min(kMaxGridZ, out_batches - z0)));
      switch (j.fidelity) {
        case 1: matrix_engine_kernel<1><<<grid, threads>>>(p); break;
        case 2: matrix_engine_kernel<2><<<grid, threads>>>(p); break;
        case 3: matrix_engine_kernel<3><<<grid, threads>>>(p); break;
        default: matrix_engine_kernel<4><<<grid, threads>>>(p); break;
      }
      if ((e = cudaGetLastError()) != cudaSuccess) return cuda_error("kernel launch", e);
    }
  for (int64_t o = 0; o < out_batches; ++o)
    if ((e = cudaMemcpy2D(j.c + o * j.c_batch_stride, size_t(j.ldc) * sizeof(float),
                          dc + o * j.M * j.N, c_row, c_row, size_t(j.M),
                          cudaMemcpyDeviceToHost)) != cudaSuccess)
      return cuda_error("matrix-engine kernel or cudaMemcpy2D (C to host)", e);
  return "";
}

}  // namespace

extern "C" int accel_cuda_abi_version(void) { return ACCEL_CUDA_ABI_VERSION; }

extern "C" int accel_cuda_device_count(char* err, size_t err_len) {
  int count = 0;
  cudaError_t e = cudaGetDeviceCount(&count);
  if (e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice) {
    set_error(err, err_len, "no GPU visible (" + cuda_error("cudaGetDeviceCount", e) +
                                "; needs a driver for CUDA " +
                                std::to_string(CUDART_VERSION / 1000) + ")");
    return -1;
  }
  if (e != cudaSuccess) {
    set_error(err, err_len, cuda_error("cudaGetDeviceCount", e));
    return -1;
  }
  if (count == 0) {
    set_error(err, err_len, "no GPU visible (cudaGetDeviceCount returned 0)");
    return -1;
  }
  // The plugin holds sm_90 code and compute_90 PTX: older GPUs cannot run it.
  cudaDeviceProp prop{};
  if ((e = cudaGetDeviceProperties(&prop, 0)) != cudaSuccess) {
    set_error(err, err_len, cuda_error("cudaGetDeviceProperties", e));
    return -1;
  }
  if (prop.major < 9) {
    set_error(err, err_len, std::string("GPU 0 (") + prop.name +
                                ") is older than compute capability 9.0, which this build of "
                                "the GPU executor targets");
    return -1;
  }
  return count;
}

extern "C" int accel_cuda_gemm(const AccelCudaGemm* job, char* err, size_t err_len) {
  if (!job) {
    set_error(err, err_len, "null product");
    return -1;
  }
  std::lock_guard<std::mutex> lock(g_mutex);
  const std::string msg = run(*job);
  if (msg.empty()) return 0;
  set_error(err, err_len, msg);
  return -1;
}
