// Decode attention over the paged KV cache (flash-decoding): one query token per sequence.
//
// Grid (batch, kv_head, split). A block takes one KV head and all G query heads that share it (GQA: each key and
// value is read once per group), over one partition of the key positions. It scores the partition into shared
// memory, takes a softmax per head, and accumulates P·V. With one split it writes the normalized output directly;
// with several, it writes an unnormalized partial output plus (max, sum) and a reduce kernel combines the splits.
// Nothing here synchronizes with the host: every launch size follows from tensor shapes, so it can be captured.
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

constexpr int kThreads = 128;
constexpr int kGroupPass = 8;  // query heads handled per pass over the keys (registers hold this many)

template <typename T>
__global__ void __launch_bounds__(kThreads) paged_decode_kernel(DecodeArgs a) {
  constexpr int N = Vec<T>::N;
  const int b = blockIdx.x, kvh = blockIdx.y, split = blockIdx.z;
  const int G = a.num_heads / a.num_kv_heads;
  const int D = a.head_dim;
  const int P = a.partition;
  const int tid = threadIdx.x;
  const int head0 = kvh * G;

  extern __shared__ float smem[];
  float* q_s = smem;         // [G, D], pre-scaled
  float* p_s = q_s + G * D;  // [G, P] scores, then probabilities
  float* o_s = p_s + G * P;  // [G, D] accumulated output
  float* st = o_s + G * D;   // [2G]: max, sum

  const int seq_len = a.seq_lens[b];
  const int start = split * P;
  const int lo = max(a.window > 0 ? max(0, seq_len - a.window) : 0, start);
  const int hi = min(seq_len, start + P);

  if (lo >= hi) {  // padding row, or no key of this split is visible
    if (a.splits == 1) {
      T* out = static_cast<T*>(a.out);
      for (int i = tid; i < G * D; i += kThreads) {
        const int g = i / D, d = i - g * D;
        out[b * a.out_stride_b + (int64_t)(head0 + g) * a.out_stride_h + d] = from_float<T>(0.f);
      }
    } else if (tid < G) {
      const int64_t row = ((int64_t)b * a.num_heads + head0 + tid) * a.splits + split;
      a.part_max[row] = -CUDART_INF_F;
      a.part_sum[row] = 0.f;
    }
    return;
  }

  const T* q = static_cast<const T*>(a.q);
  for (int i = tid; i < G * D; i += kThreads) {
    const int g = i / D, d = i - g * D;
    q_s[i] = to_float(q[b * a.q_stride_b + (int64_t)(head0 + g) * a.q_stride_h + d]) * a.scale;
    o_s[i] = 0.f;
  }
  __syncthreads();

  const int32_t* bt = a.block_tables + (int64_t)b * a.bt_stride;

  // Scores: L lanes share one key, each lane loading 16 bytes per chunk (coalesced across the lanes).
  {
    const int nvec = D / N;
    int L = 1;
    while (L < 32 && nvec % (L * 2) == 0) L *= 2;
    const int chunks = nvec / L;
    const int keys_per_iter = kThreads / L;
    const int sub = tid / L, lane = tid % L;
    const T* kc = static_cast<const T*>(a.k_cache);
    for (int base = lo; base < hi; base += keys_per_iter) {  // same trip count for every thread (shuffles)
      const int j = base + sub;
      const bool valid = j < hi;
      const T* kp = valid ? kc + slot_of(bt, j, a.block_size) * a.k_stride_slot + (int64_t)kvh * a.k_stride_head : kc;
      for (int g0 = 0; g0 < G; g0 += kGroupPass) {
        float acc[kGroupPass];
#pragma unroll
        for (int gi = 0; gi < kGroupPass; ++gi) acc[gi] = 0.f;
        if (valid) {
          for (int c = 0; c < chunks; ++c) {
            const int e0 = (c * L + lane) * N;
            float kf[N];
            load_vec(kp + e0, kf);
#pragma unroll
            for (int gi = 0; gi < kGroupPass; ++gi) {
              if (g0 + gi < G) {
                const float* qq = q_s + (g0 + gi) * D + e0;
                float s = 0.f;
#pragma unroll
                for (int e = 0; e < N; ++e) s += kf[e] * qq[e];
                acc[gi] += s;
              }
            }
          }
        }
#pragma unroll
        for (int gi = 0; gi < kGroupPass; ++gi) {
          if (g0 + gi < G) {  // uniform across the block
            const float s = group_sum(acc[gi], L);
            if (valid && lane == 0) p_s[(g0 + gi) * P + (j - start)] = s;
          }
        }
      }
    }
  }
  __syncthreads();

  // Softmax per query head: one warp per head.
  const int jlo = lo - start, jhi = hi - start;
  {
    const int warp = tid >> 5, wl = tid & 31;
    for (int g = warp; g < G; g += kThreads / 32) {
      float* row = p_s + g * P;
      float m = -CUDART_INF_F;
      for (int j = jlo + wl; j < jhi; j += 32) m = fmaxf(m, row[j]);
      m = warp_max(m);
      float s = 0.f;
      for (int j = jlo + wl; j < jhi; j += 32) {
        const float e = expf(row[j] - m);
        row[j] = e;
        s += e;
      }
      s = warp_sum(s);
      if (wl == 0) {
        st[g] = m;
        st[G + g] = s;
      }
    }
  }
  __syncthreads();

  // P·V: nvec threads cover one value row (16 bytes each); the remaining threads split the keys. The key groups
  // then add their sums into o_s one group at a time, in a fixed order, so results are deterministic (a replayed
  // graph gives the same bits as an eager call).
  {
    const int nvec = D / N;  // <= 64
    const int groups = kThreads / nvec;
    const int kg = tid / nvec, dc = tid - kg * nvec;
    const T* vc = static_cast<const T*>(a.v_cache);
    for (int g0 = 0; g0 < G; g0 += kGroupPass) {
      float acc[kGroupPass][N];
#pragma unroll
      for (int gi = 0; gi < kGroupPass; ++gi)
#pragma unroll
        for (int e = 0; e < N; ++e) acc[gi][e] = 0.f;
      if (kg < groups) {
        for (int j = jlo + kg; j < jhi; j += groups) {
          const T* vp = vc + slot_of(bt, start + j, a.block_size) * a.v_stride_slot + (int64_t)kvh * a.v_stride_head;
          float vf[N];
          load_vec(vp + dc * N, vf);
#pragma unroll
          for (int gi = 0; gi < kGroupPass; ++gi) {
            if (g0 + gi < G) {
              const float p = p_s[(g0 + gi) * P + j];
#pragma unroll
              for (int e = 0; e < N; ++e) acc[gi][e] += p * vf[e];
            }
          }
        }
      }
      for (int turn = 0; turn < groups; ++turn) {
        if (kg == turn) {
#pragma unroll
          for (int gi = 0; gi < kGroupPass; ++gi)
            if (g0 + gi < G)
#pragma unroll
              for (int e = 0; e < N; ++e) o_s[(g0 + gi) * D + dc * N + e] += acc[gi][e];
        }
        __syncthreads();
      }
    }
  }

  if (a.splits == 1) {
    T* out = static_cast<T*>(a.out);
    for (int i = tid; i < G * D; i += kThreads) {
      const int g = i / D, d = i - g * D;
      const float s = st[G + g];
      out[b * a.out_stride_b + (int64_t)(head0 + g) * a.out_stride_h + d] = from_float<T>(s > 0.f ? o_s[i] / s : 0.f);
    }
  } else {
    for (int i = tid; i < G * D; i += kThreads) {
      const int g = i / D, d = i - g * D;
      const int64_t row = ((int64_t)b * a.num_heads + head0 + g) * a.splits + split;
      a.part_out[row * D + d] = o_s[i];
    }
    if (tid < G) {
      const int64_t row = ((int64_t)b * a.num_heads + head0 + tid) * a.splits + split;
      a.part_max[row] = st[tid];
      a.part_sum[row] = st[G + tid];
    }
  }
}

// Combines the splits of one (sequence, head): out = sum_s e^(m_s - M) o_s / sum_s e^(m_s - M) l_s.
template <typename T>
__global__ void __launch_bounds__(kThreads) decode_reduce_kernel(DecodeArgs a) {
  __shared__ float scratch[32];
  const int b = blockIdx.x, h = blockIdx.y, D = a.head_dim, S = a.splits;
  const int64_t row0 = ((int64_t)b * a.num_heads + h) * S;
  float m = -CUDART_INF_F;
  for (int s = threadIdx.x; s < S; s += kThreads)
    if (a.part_sum[row0 + s] > 0.f) m = fmaxf(m, a.part_max[row0 + s]);
  m = block_max(m, scratch);
  float den = 0.f;
  for (int s = threadIdx.x; s < S; s += kThreads) {
    const float l = a.part_sum[row0 + s];
    if (l > 0.f) den += l * expf(a.part_max[row0 + s] - m);
  }
  den = block_sum(den, scratch);
  T* out = static_cast<T*>(a.out) + b * a.out_stride_b + (int64_t)h * a.out_stride_h;
  for (int d = threadIdx.x; d < D; d += kThreads) {
    float acc = 0.f;
    for (int s = 0; s < S; ++s) {
      const float l = a.part_sum[row0 + s];
      if (l > 0.f) acc += expf(a.part_max[row0 + s] - m) * a.part_out[(row0 + s) * D + d];
    }
    out[d] = from_float<T>(den > 0.f ? acc / den : 0.f);
  }
}

int multiprocessors() {
  static int cached[64] = {0};
  int dev = 0;
  if (cudaGetDevice(&dev) != cudaSuccess || dev < 0 || dev >= 64) return 132;
  if (cached[dev] == 0) {
    int n = 0;
    if (cudaDeviceGetAttribute(&n, cudaDevAttrMultiProcessorCount, dev) != cudaSuccess || n <= 0) n = 132;
    cached[dev] = n;
  }
  return cached[dev];
}

size_t decode_smem_bytes(int group, int head_dim, int partition) {
  return (size_t)(group * (2 * head_dim + partition) + 2 * group) * sizeof(float);
}

template <typename T>
cudaError_t launch(const DecodeArgs& a, cudaStream_t stream) {
  const int G = a.num_heads / a.num_kv_heads;
  const size_t smem = decode_smem_bytes(G, a.head_dim, a.partition);
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(paged_decode_kernel<T>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
  }
  paged_decode_kernel<T><<<dim3(a.batch, a.num_kv_heads, a.splits), kThreads, smem, stream>>>(a);
  if (a.splits > 1) decode_reduce_kernel<T><<<dim3(a.batch, a.num_heads), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

}  // namespace

void decode_plan(int batch, int num_kv_heads, int group, int head_dim, int max_context, int* partition, int* splits) {
  int P = 512;
  while (P > 32 && decode_smem_bytes(group, head_dim, P) > 48 * 1024) P /= 2;
  const int64_t target = 2 * (int64_t)multiprocessors();
  while (P > 64 && (int64_t)batch * num_kv_heads * ((max_context + P - 1) / P) < target) P /= 2;
  *partition = P;
  *splits = max(1, (max_context + P - 1) / P);
}

cudaError_t launch_paged_decode(const DecodeArgs& a, DType dtype, cudaStream_t stream) {
  switch (dtype) {
    case DType::F32: return launch<float>(a, stream);
    case DType::F16: return launch<__half>(a, stream);
    case DType::BF16: return launch<__nv_bfloat16>(a, stream);
  }
  return cudaErrorInvalidValue;
}

}  // namespace pn
