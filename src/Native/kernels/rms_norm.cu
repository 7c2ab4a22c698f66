// RMSNorm as transformers' LlamaRMSNorm computes it: in fp32, x * rsqrt(mean(x^2) + eps), cast to the input dtype,
// then multiplied by the weight (that product rounded to the dtype again). The fused form first adds x into the
// residual (rounded to the dtype, as a PyTorch add would), keeps the sum in residual and writes the norm into x.
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads) rms_norm_kernel(RmsNormArgs a) {
  __shared__ float scratch[32];
  const int64_t row = blockIdx.x;
  const int n = a.hidden;
  T* out = static_cast<T*>(a.out) + row * a.out_stride;
  const T* w = static_cast<const T*>(a.weight);
  const T* src;
  float ss = 0.f;
  if (a.fused_add) {
    T* res = static_cast<T*>(a.residual) + row * a.residual_stride;
    for (int i = threadIdx.x; i < n; i += kThreads) {
      const float v = round_to<T>(to_float(out[i]) + to_float(res[i]));
      res[i] = from_float<T>(v);
      ss += v * v;
    }
    src = res;  // each thread reads back only the elements it wrote
  } else {
    src = static_cast<const T*>(a.x) + row * a.x_stride;
    for (int i = threadIdx.x; i < n; i += kThreads) {
      const float v = to_float(src[i]);
      ss += v * v;
    }
  }
  ss = block_sum(ss, scratch);
  const float inv = rsqrtf(ss / (float)n + a.eps);
  for (int i = threadIdx.x; i < n; i += kThreads) {
    const float normed = round_to<T>(to_float(src[i]) * inv);
    out[i] = from_float<T>(to_float(w[i]) * normed);
  }
}

template <typename T>
cudaError_t launch(const RmsNormArgs& a, cudaStream_t stream) {
  rms_norm_kernel<T><<<a.rows, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_rms_norm(const RmsNormArgs& a, DType dtype, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  switch (dtype) {
    case DType::F32: return launch<float>(a, stream);
    case DType::F16: return launch<__half>(a, stream);
    case DType::BF16: return launch<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace pn
