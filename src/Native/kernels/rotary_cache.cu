// Rotary position embedding of q and k (in place) fused with writing k and v into the paged cache.
// Rounds like transformers' apply_rotary_pos_emb: cos and sin cast to the dtype, x*cos and rotate_half(x)*sin
// each rounded, then their sum (in fp32 every step is one correctly rounded op, no fused multiply-add).
// NeoX style pairs element i with i + rot_dim/2; GPT-J style pairs 2i with 2i+1.
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

constexpr int kThreads = 128;

template <typename T>
__device__ __forceinline__ void rotate_pair(T* x, int i1, int i2, float c, float s, T* cache_row) {
  const float x1 = to_float(x[i1]), x2 = to_float(x[i2]);
  const float y1 = round_to<T>(__fadd_rn(round_to<T>(__fmul_rn(x1, c)), round_to<T>(__fmul_rn(-x2, s))));
  const float y2 = round_to<T>(__fadd_rn(round_to<T>(__fmul_rn(x2, c)), round_to<T>(__fmul_rn(x1, s))));
  x[i1] = from_float<T>(y1);
  x[i2] = from_float<T>(y2);
  if (cache_row != nullptr) {
    cache_row[i1] = from_float<T>(y1);
    cache_row[i2] = from_float<T>(y2);
  }
}

template <typename T>
__global__ void __launch_bounds__(kThreads) rotary_cache_kernel(RotaryCacheArgs a) {
  const int64_t t = blockIdx.x;
  const int half = a.rot_dim / 2, D = a.head_dim;
  const float* cs = a.cos_sin + a.positions[t] * a.rot_dim;
  const int64_t slot = a.slot_mapping != nullptr ? a.slot_mapping[t] : -1;
  const bool write = slot >= 0 && a.k_cache != nullptr;

  T* q = static_cast<T*>(a.q) + t * a.q_stride_t;
  for (int i = threadIdx.x; i < a.num_heads * half; i += kThreads) {
    const int h = i / half, r = i - h * half;
    const int i1 = a.is_neox ? r : 2 * r, i2 = a.is_neox ? r + half : 2 * r + 1;
    rotate_pair<T>(q + h * a.q_stride_h, i1, i2, round_to<T>(cs[r]), round_to<T>(cs[half + r]), nullptr);
  }

  T* k = static_cast<T*>(a.k) + t * a.k_stride_t;
  T* kc = static_cast<T*>(a.k_cache);
  for (int i = threadIdx.x; i < a.num_kv_heads * half; i += kThreads) {
    const int h = i / half, r = i - h * half;
    const int i1 = a.is_neox ? r : 2 * r, i2 = a.is_neox ? r + half : 2 * r + 1;
    T* row = write ? kc + slot * a.kc_stride_slot + h * a.kc_stride_head : nullptr;
    rotate_pair<T>(k + h * a.k_stride_h, i1, i2, round_to<T>(cs[r]), round_to<T>(cs[half + r]), row);
  }

  if (!write) return;
  const T* v = static_cast<const T*>(a.v) + t * a.v_stride_t;
  T* vc = static_cast<T*>(a.v_cache);
  for (int i = threadIdx.x; i < a.num_kv_heads * D; i += kThreads) {
    const int h = i / D, d = i - h * D;
    if (d >= a.rot_dim) kc[slot * a.kc_stride_slot + h * a.kc_stride_head + d] = k[h * a.k_stride_h + d];
    vc[slot * a.vc_stride_slot + h * a.vc_stride_head + d] = v[h * a.v_stride_h + d];
  }
}

template <typename T>
cudaError_t launch(const RotaryCacheArgs& a, cudaStream_t stream) {
  rotary_cache_kernel<T><<<a.num_tokens, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_rotary_and_cache(const RotaryCacheArgs& a, DType dtype, cudaStream_t stream) {
  if (a.num_tokens == 0) return cudaSuccess;
  switch (dtype) {
    case DType::F32: return launch<float>(a, stream);
    case DType::F16: return launch<__half>(a, stream);
    case DType::BF16: return launch<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace pn
