// SwiGLU's gate: out[t, i] = silu(x[t, i]) * x[t, I + i], rounded as transformers' act_fn(gate) * up would be
// (silu computed in fp32 and cast to the dtype, then the product cast again).
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

constexpr int kThreads = 256;

template <typename T>
__global__ void __launch_bounds__(kThreads) silu_and_mul_kernel(SiluMulArgs a) {
  const int64_t row = blockIdx.x;
  const T* x = static_cast<const T*>(a.x) + row * a.x_stride;
  T* out = static_cast<T*>(a.out) + row * a.out_stride;
  for (int i = blockIdx.y * kThreads + threadIdx.x; i < a.inter; i += gridDim.y * kThreads) {
    const float g = to_float(x[i]);
    const float s = round_to<T>(g / (1.f + expf(-g)));
    out[i] = from_float<T>(s * to_float(x[a.inter + i]));
  }
}

template <typename T>
cudaError_t launch(const SiluMulArgs& a, cudaStream_t stream) {
  const int per_row = (a.inter + kThreads - 1) / kThreads;
  const dim3 grid(a.rows, per_row < 8 ? per_row : 8);
  silu_and_mul_kernel<T><<<grid, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_silu_and_mul(const SiluMulArgs& a, DType dtype, cudaStream_t stream) {
  if (a.rows == 0 || a.inter == 0) return cudaSuccess;
  switch (dtype) {
    case DType::F32: return launch<float>(a, stream);
    case DType::F16: return launch<__half>(a, stream);
    case DType::BF16: return launch<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace pn
