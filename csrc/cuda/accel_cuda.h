/* The GPU executor plugin (libtorch_accel_cuda.so): a plain C interface, so
 * libtorch_accel.so can dlopen it only when the GPU executor is asked for and
 * neither side needs the other's C++ ABI, torch or the CUDA headers. */
#ifndef ACCEL_CUDA_H_
#define ACCEL_CUDA_H_

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever a struct below changes; the loader refuses a mismatch. */
#define ACCEL_CUDA_ABI_VERSION 1

enum AccelCudaDType { ACCEL_CUDA_F32 = 0, ACCEL_CUDA_BF16 = 1, ACCEL_CUDA_F16 = 2 };

/* A host operand viewed as [batch, rows, cols] with element strides (>= 0,
 * 0 broadcasts). */
typedef struct AccelCudaOperand {
  const void* data;
  int32_t dtype; /* AccelCudaDType */
  int64_t batch_stride, row_stride, col_stride;
} AccelCudaOperand;

/* The matrix-engine product of a matmul program, as matrix_engine.h defines
 * it: for each output batch o, C[o] = beta * C[o] + sum over the batches i
 * that feed it of A[i] @ B[i], with the fidelity passes of `fidelity`
 * (1 LoFi .. 4 HiFi4) and, unless fp32_dest_acc, the destination rounded to
 * bf16 after every 32-deep K tile. C is fp32 on the host, [out_batches, M, N]
 * with row stride ldc and batch stride c_batch_stride; it is read only when
 * beta != 0. With reduce_batch there is one output batch (the sum over all). */
typedef struct AccelCudaGemm {
  int64_t batch, M, N, K;
  AccelCudaOperand a, b;
  float* c;
  int64_t c_batch_stride, ldc;
  float beta;
  int32_t reduce_batch;
  int32_t fidelity;
  int32_t fp32_dest_acc;
} AccelCudaGemm;

/* ACCEL_CUDA_ABI_VERSION of the plugin. */
int accel_cuda_abi_version(void);
/* The number of visible GPUs the plugin can run on (compute capability the
 * build targets), or -1 with the reason in err. */
int accel_cuda_device_count(char* err, size_t err_len);
/* Runs one product on GPU 0; 0 on success, else -1 with the reason in err. */
int accel_cuda_gemm(const AccelCudaGemm* job, char* err, size_t err_len);

#ifdef __cplusplus
}
#endif

#endif /* ACCEL_CUDA_H_ */
