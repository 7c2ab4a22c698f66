// Varlen causal attention over the paged KV cache, one warp per (query token, head), online softmax in fp32.
// Simple and exact rather than fast: it serves float32 (which flash attention lacks) and is the fallback for the
// other dtypes. Query i of sequence s sits at position seq_lens_k[s] - q_len(s) + i (causal, aligned bottom-right),
// so prefix-cached context and chunked prefill read their earlier keys from the cache.
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

constexpr int kThreads = 128;
constexpr int kPerLane = 8;  // head_dim <= 256 = 32 lanes x 8

template <typename T>
__global__ void __launch_bounds__(kThreads) paged_prefill_kernel(PrefillArgs a) {
  const int64_t warp_id = ((int64_t)blockIdx.x * blockDim.x + threadIdx.x) >> 5;
  const int lane = threadIdx.x & 31;
  if (warp_id >= (int64_t)a.num_tokens * a.num_heads) return;  // uniform per warp
  const int t = (int)(warp_id / a.num_heads), h = (int)(warp_id % a.num_heads);
  const int D = a.head_dim;

  const int s = find_sequence(a.cu_seqlens_q, a.batch, t);
  const int q_len = a.cu_seqlens_q[s + 1] - a.cu_seqlens_q[s];
  const int k_len = a.seq_lens_k[s];
  const int q_pos = k_len - q_len + (t - a.cu_seqlens_q[s]);
  const int kv_lo = a.window > 0 ? max(0, q_pos - a.window + 1) : 0;
  const int kv_hi = min(q_pos + 1, k_len);
  const int kvh = h / (a.num_heads / a.num_kv_heads);
  const int32_t* bt = a.block_tables + (int64_t)s * a.bt_stride;

  const T* qp = static_cast<const T*>(a.q) + (int64_t)t * a.q_stride_t + (int64_t)h * a.q_stride_h;
  float q[kPerLane], acc[kPerLane];
#pragma unroll
  for (int r = 0; r < kPerLane; ++r) {
    const int d = lane + 32 * r;
    q[r] = d < D ? to_float(qp[d]) * a.scale : 0.f;
    acc[r] = 0.f;
  }

  const T* kc = static_cast<const T*>(a.k_cache);
  const T* vc = static_cast<const T*>(a.v_cache);
  float m = -CUDART_INF_F, l = 0.f;
  for (int j = kv_lo; j < kv_hi; ++j) {
    const int64_t slot = slot_of(bt, j, a.block_size);
    const T* kp = kc + slot * a.k_stride_slot + (int64_t)kvh * a.k_stride_head;
    const T* vp = vc + slot * a.v_stride_slot + (int64_t)kvh * a.v_stride_head;
    float sc = 0.f;
#pragma unroll
    for (int r = 0; r < kPerLane; ++r) {
      const int d = lane + 32 * r;
      if (d < D) sc += q[r] * to_float(kp[d]);
    }
    sc = warp_sum(sc);
    const float m_new = fmaxf(m, sc);
    const float corr = expf(m - m_new);  // 0 on the first key (m = -inf)
    const float p = expf(sc - m_new);
    l = l * corr + p;
#pragma unroll
    for (int r = 0; r < kPerLane; ++r) {
      const int d = lane + 32 * r;
      if (d < D) acc[r] = acc[r] * corr + p * to_float(vp[d]);
    }
    m = m_new;
  }

  T* op = static_cast<T*>(a.out) + (int64_t)t * a.out_stride_t + (int64_t)h * a.out_stride_h;
#pragma unroll
  for (int r = 0; r < kPerLane; ++r) {
    const int d = lane + 32 * r;
    if (d < D) op[d] = from_float<T>(l > 0.f ? acc[r] / l : 0.f);
  }
}

template <typename T>
cudaError_t launch(const PrefillArgs& a, cudaStream_t stream) {
  const int64_t warps = (int64_t)a.num_tokens * a.num_heads;
  const int64_t blocks = (warps * 32 + kThreads - 1) / kThreads;
  paged_prefill_kernel<T><<<(unsigned)blocks, kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

cudaError_t launch_paged_prefill(const PrefillArgs& a, DType dtype, cudaStream_t stream) {
  if (a.num_tokens == 0) return cudaSuccess;
  switch (dtype) {
    case DType::F32: return launch<float>(a, stream);
    case DType::F16: return launch<__half>(a, stream);
    case DType::BF16: return launch<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace pn
