// Decode attention over the paged KV cache (flash-decoding): one query token per sequence.
//
// Grid (batch, kv_head x head_pass, split). A block takes one KV head and up to GP of the G query heads that share
// it (GQA: each key and value row is read once for all of them), over one partition of the key positions.
//
// Layout inside a block (4 warps): a key row of D elements is split into 16-byte chunks, and L lanes (the smallest
// power of two covering the chunks, at most 32) share one key, so a warp works on 32/L keys side by side. Each lane
// keeps its slice of the GP query vectors in registers (pre-scaled by scale*log2 e), and walks its keys in tiles of
// U: it first issues the U key loads and U value loads of the tile (2U independent 16-byte non-coherent loads in
// flight per thread), then reduces the U*GP partial dot products over its L lanes, and folds the tile into a
// running (max, sum, output accumulator) per head: an online softmax, so the keys are read once and no score is
// materialised. Every L-lane group runs its own softmax state; at the end the groups of a warp are merged with
// butterfly shuffles and the 4 warps through shared memory, always in the same order, so results are bit-for-bit
// reproducible (no atomics). The block table of the partition is turned into K/V row offsets in shared memory
// first, so the inner loop has no division, no branch and no dependent global load in front of the K/V loads.
//
// With one split the block writes the normalized output; with several it writes an unnormalized partial output
// plus (max, sum) in natural-log units, and decode_reduce_kernel combines the splits. Nothing here synchronizes with
// the host: every launch size follows from tensor shapes, so it can be captured in a CUDA graph.
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

constexpr int kThreads = 128;
constexpr int kWarps = kThreads / 32;
constexpr float kLog2e = 1.4426950408889634f;
constexpr float kLn2 = 0.6931471805599453f;

// Key rows per lane per tile (2*U loads in flight per thread), fewer when the lane holds more of q and of the output
// (GP heads x CPL chunks). Blocks per multiprocessor asked of ptxas: 3 caps registers at 170 (12 warps per SM).
template <int GP, int CPL> struct Tile {
  static constexpr int R = GP * CPL;
  static constexpr int U = R >= 16 ? 1 : R >= 8 ? 2 : 4;
  static constexpr int kMinBlocks = R >= 8 ? 1 : 3;
};

__device__ __forceinline__ uint4 ldg16(const void* p) { return __ldg(reinterpret_cast<const uint4*>(p)); }

template <typename T, int N>
__device__ __forceinline__ void widen(const uint4& raw, float (&out)[N]) {
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < N; ++i) out[i] = to_float(e[i]);
}

// 2^x in one instruction (MUFU.EX2; results below 2^-126 flush to zero, 2^-inf = 0). Softmax weights only.
__device__ __forceinline__ float exp2_fast(float x) {
  float y;
  asm("ex2.approx.ftz.f32 %0, %1;" : "=f"(y) : "f"(x));
  return y;
}

// Scale of a softmax state with running max m against the merged max ms (0 for an empty state).
__device__ __forceinline__ float rescale(float m, float ms) { return exp2_fast(m - ms); }

// T: element type. GP: query heads per block (registers). CPL: 16-byte chunks of a key row per lane (1, or 2 for
// fp32 rows of more than 32 chunks).
template <typename T, int GP, int CPL>
__global__ void __launch_bounds__(kThreads, Tile<GP, CPL>::kMinBlocks) paged_decode_kernel(DecodeArgs a) {
  constexpr int N = Vec<T>::N;
  constexpr int U = Tile<GP, CPL>::U;
  const int b = blockIdx.x, split = blockIdx.z;
  const int G = a.num_heads / a.num_kv_heads;
  const int passes = (G + GP - 1) / GP;
  const int kvh = blockIdx.y / passes, pass = blockIdx.y - kvh * passes;
  const int head0 = kvh * G + pass * GP;
  const int gcount = min(GP, G - pass * GP);
  const int D = a.head_dim;
  const int P = a.partition;
  const int tid = threadIdx.x, warp = tid >> 5, lane = tid & 31;

  const int seq_len = a.seq_lens[b];
  const int start = split * P;
  const int lo = max(a.window > 0 ? max(0, seq_len - a.window) : 0, start);
  const int hi = min(seq_len, start + P);

  if (lo >= hi) {  // padding row, or no key of this split is visible
    if (a.splits == 1) {
      T* out = static_cast<T*>(a.out);
      for (int i = tid; i < gcount * D; i += kThreads) {
        const int g = i / D, d = i - g * D;
        out[b * a.out_stride_b + (int64_t)(head0 + g) * a.out_stride_h + d] = from_float<T>(0.f);
      }
    } else if (tid < gcount) {
      const int64_t row = ((int64_t)b * a.num_heads + head0 + tid) * a.splits + split;
      a.part_max[row] = -CUDART_INF_F;
      a.part_sum[row] = 0.f;
    }
    return;
  }

  extern __shared__ __align__(16) unsigned char smem_raw[];
  longlong2* row_s = reinterpret_cast<longlong2*>(smem_raw);       // [P] byte offsets of key lo + i's K and V rows
  float* red_o = reinterpret_cast<float*>(row_s + P);              // [kWarps][GP][D]
  float* red_m = red_o + kWarps * GP * D;                          // [kWarps][GP]
  float* red_l = red_m + kWarps * GP;                              // [kWarps][GP]

  // Lane mapping: L lanes per key, chunk c = li + i*L (i < CPL) of 16 bytes; KPW keys per warp side by side.
  const int nvec = D / N;
  int L = 1;
  while (L < nvec && L < 32) L <<= 1;
  const int KPW = 32 / L;
  const int kg = lane / L, li = lane - kg * L;
  bool active[CPL];
#pragma unroll
  for (int i = 0; i < CPL; ++i) active[i] = li + i * L < nvec;

  // This lane's slice of the query heads, in registers, scaled so that exp2 gives the softmax. 16-byte loads when
  // q's rows allow them (the usual case), element loads otherwise.
  float qf[GP][CPL][N];
  {
    const T* q = static_cast<const T*>(a.q) + b * a.q_stride_b + (int64_t)head0 * a.q_stride_h;
    const float qs = a.scale * kLog2e;
    const bool vec = (reinterpret_cast<uintptr_t>(a.q) & 15) == 0 && a.q_stride_b % N == 0 && a.q_stride_h % N == 0;
#pragma unroll
    for (int g = 0; g < GP; ++g)
#pragma unroll
      for (int i = 0; i < CPL; ++i) {
        const T* qp = q + (int64_t)g * a.q_stride_h + (li + i * L) * N;
        const bool on = g < gcount && active[i];
        if (vec) {
          float t[N];
          widen<T>(on ? ldg16(qp) : make_uint4(0, 0, 0, 0), t);
#pragma unroll
          for (int e = 0; e < N; ++e) qf[g][i][e] = t[e] * qs;
        } else {
#pragma unroll
          for (int e = 0; e < N; ++e) qf[g][i][e] = on ? to_float(qp[e]) * qs : 0.f;
        }
      }
  }

  // Byte offsets of the partition's K and V rows (one division per key, once; the loads overlap those of q above).
  {
    const int32_t* bt = a.block_tables + (int64_t)b * a.bt_stride;
    const int bs = a.block_size;
    const int64_t kss = a.k_stride_slot * (int64_t)sizeof(T), vss = a.v_stride_slot * (int64_t)sizeof(T);
#pragma unroll 4
    for (int j = lo + tid; j < hi; j += kThreads) {
      const int blk = j / bs;
      const int64_t slot = (int64_t)__ldg(bt + blk) * bs + (j - blk * bs);
      row_s[j - lo] = make_longlong2(slot * kss, slot * vss);
    }
  }

  float m[GP], l[GP], acc[GP][CPL][N];
#pragma unroll
  for (int g = 0; g < GP; ++g) {
    m[g] = -CUDART_INF_F;
    l[g] = 0.f;
#pragma unroll
    for (int i = 0; i < CPL; ++i)
#pragma unroll
      for (int e = 0; e < N; ++e) acc[g][i][e] = 0.f;
  }
  __syncthreads();  // row_s ready

  const char* kbase = static_cast<const char*>(a.k_cache) + (int64_t)kvh * a.k_stride_head * (int64_t)sizeof(T);
  const char* vbase = static_cast<const char*>(a.v_cache) + (int64_t)kvh * a.v_stride_head * (int64_t)sizeof(T);
  // Byte offset of this lane's chunk i in a row; an idle chunk (past the row) re-reads chunk 0, and its q is zero.
  int cb[CPL];
#pragma unroll
  for (int i = 0; i < CPL; ++i) cb[i] = active[i] ? (li + i * L) * N * (int)sizeof(T) : 0;

  // Trip count is uniform over the warp (shuffles inside): base depends only on the warp. Keys past the end of the
  // partition re-read key lo (always visible) and are masked out of the softmax, so the loads need no branches.
  for (int base = lo + warp * U * KPW; base < hi; base += kWarps * U * KPW) {
    uint4 kr[U][CPL], vr[U][CPL];
    bool valid[U];
#pragma unroll
    for (int u = 0; u < U; ++u) {
      const int j = base + u * KPW + kg;
      valid[u] = j < hi;
      const longlong2 row = row_s[valid[u] ? j - lo : 0];
#pragma unroll
      for (int i = 0; i < CPL; ++i) {
        kr[u][i] = ldg16(kbase + row.x + cb[i]);
        vr[u][i] = ldg16(vbase + row.y + cb[i]);
      }
    }

    // Scores (log2 units) of the tile's keys for every head, summed over the L lanes of each key.
    float s[U][GP];
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int g = 0; g < GP; ++g) s[u][g] = 0.f;
#pragma unroll
      for (int i = 0; i < CPL; ++i) {
        float kf[N];
        widen<T>(kr[u][i], kf);
#pragma unroll
        for (int g = 0; g < GP; ++g)
#pragma unroll
          for (int e = 0; e < N; ++e) s[u][g] = fmaf(qf[g][i][e], kf[e], s[u][g]);
      }
    }
    for (int o = 1; o < L; o <<= 1) {
#pragma unroll
      for (int u = 0; u < U; ++u)
#pragma unroll
        for (int g = 0; g < GP; ++g) s[u][g] += __shfl_xor_sync(0xffffffffu, s[u][g], o);
    }

    // Online softmax: fold the tile into (m, l, acc); scores become probabilities relative to the new max.
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      float mt = m[g];
#pragma unroll
      for (int u = 0; u < U; ++u)
        if (valid[u]) mt = fmaxf(mt, s[u][g]);
      const float ms = mt == -CUDART_INF_F ? 0.f : mt;
      const float alpha = rescale(m[g], ms);
      m[g] = mt;
      float sum = 0.f;
#pragma unroll
      for (int u = 0; u < U; ++u) {
        s[u][g] = valid[u] ? exp2_fast(s[u][g] - ms) : 0.f;
        sum += s[u][g];
      }
      l[g] = fmaf(l[g], alpha, sum);
#pragma unroll
      for (int i = 0; i < CPL; ++i)
#pragma unroll
        for (int e = 0; e < N; ++e) acc[g][i][e] *= alpha;
    }
#pragma unroll
    for (int u = 0; u < U; ++u) {
#pragma unroll
      for (int i = 0; i < CPL; ++i) {
        float vf[N];
        widen<T>(vr[u][i], vf);
#pragma unroll
        for (int g = 0; g < GP; ++g)
#pragma unroll
          for (int e = 0; e < N; ++e) acc[g][i][e] = fmaf(s[u][g], vf[e], acc[g][i][e]);
      }
    }
  }

  // Merge the KPW key groups of the warp (butterfly over lanes L, 2L, ..., 16 apart).
  for (int o = L; o < 32; o <<= 1) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
      const float mo = __shfl_xor_sync(0xffffffffu, m[g], o);
      const float lo_ = __shfl_xor_sync(0xffffffffu, l[g], o);
      const float mn = fmaxf(m[g], mo);
      const float ms = mn == -CUDART_INF_F ? 0.f : mn;
      const float sa = rescale(m[g], ms), sb = rescale(mo, ms);
      m[g] = mn;
      l[g] = l[g] * sa + lo_ * sb;
#pragma unroll
      for (int i = 0; i < CPL; ++i)
#pragma unroll
        for (int e = 0; e < N; ++e) {
          const float ao = __shfl_xor_sync(0xffffffffu, acc[g][i][e], o);
          acc[g][i][e] = acc[g][i][e] * sa + ao * sb;
        }
    }
  }
  if (kg == 0) {
#pragma unroll
    for (int g = 0; g < GP; ++g) {
#pragma unroll
      for (int i = 0; i < CPL; ++i)
        if (active[i])
#pragma unroll
          for (int e = 0; e < N; ++e) red_o[(warp * GP + g) * D + (li + i * L) * N + e] = acc[g][i][e];
      if (li == 0) {
        red_m[warp * GP + g] = m[g];
        red_l[warp * GP + g] = l[g];
      }
    }
  }
  __syncthreads();

  // Merge the warps in a fixed order and write the result.
  for (int idx = tid; idx < gcount * D; idx += kThreads) {
    const int g = idx / D, d = idx - g * D;
    float mx = -CUDART_INF_F;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) mx = fmaxf(mx, red_m[w * GP + g]);
    const float ms = mx == -CUDART_INF_F ? 0.f : mx;
    float den = 0.f, o = 0.f;
#pragma unroll
    for (int w = 0; w < kWarps; ++w) {
      const float f = rescale(red_m[w * GP + g], ms);
      den = fmaf(red_l[w * GP + g], f, den);
      o = fmaf(red_o[(w * GP + g) * D + d], f, o);
    }
    if (a.splits == 1) {
      T* out = static_cast<T*>(a.out);
      out[b * a.out_stride_b + (int64_t)(head0 + g) * a.out_stride_h + d] = from_float<T>(den > 0.f ? o / den : 0.f);
    } else {
      const int64_t row = ((int64_t)b * a.num_heads + head0 + g) * a.splits + split;
      a.part_out[row * D + d] = o;
      if (d == 0) {
        a.part_max[row] = mx * kLn2;  // natural-log units for decode_reduce_kernel
        a.part_sum[row] = den;
      }
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

int heads_per_block(int group) { return group <= 1 ? 1 : group <= 2 ? 2 : group <= 4 ? 4 : 8; }

size_t decode_smem_bytes(int group, int head_dim, int partition) {
  const int gp = heads_per_block(group);
  return (size_t)partition * 2 * sizeof(int64_t) + (size_t)kWarps * gp * (head_dim + 2) * sizeof(float);
}

template <typename T, int GP, int CPL>
cudaError_t launch_gp(const DecodeArgs& a, int passes, cudaStream_t stream) {
  const int G = a.num_heads / a.num_kv_heads;
  const size_t smem = decode_smem_bytes(G, a.head_dim, a.partition);
  if (smem > 48 * 1024) {
    const cudaError_t e = cudaFuncSetAttribute(paged_decode_kernel<T, GP, CPL>, cudaFuncAttributeMaxDynamicSharedMemorySize, (int)smem);
    if (e != cudaSuccess) return e;
  }
  paged_decode_kernel<T, GP, CPL><<<dim3(a.batch, a.num_kv_heads * passes, a.splits), kThreads, smem, stream>>>(a);
  if (a.splits > 1) decode_reduce_kernel<T><<<dim3(a.batch, a.num_heads), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

template <typename T, int CPL>
cudaError_t launch_cpl(const DecodeArgs& a, cudaStream_t stream) {
  const int G = a.num_heads / a.num_kv_heads;
  const int gp = heads_per_block(G);
  const int passes = (G + gp - 1) / gp;
  switch (gp) {
    case 1: return launch_gp<T, 1, CPL>(a, passes, stream);
    case 2: return launch_gp<T, 2, CPL>(a, passes, stream);
    case 4: return launch_gp<T, 4, CPL>(a, passes, stream);
    default: return launch_gp<T, 8, CPL>(a, passes, stream);
  }
}

template <typename T>
cudaError_t launch(const DecodeArgs& a, cudaStream_t stream) {
  // A lane holds one 16-byte chunk of a row, two for fp32 rows of more than 32 chunks (head_dim > 128).
  if constexpr (sizeof(T) == 4) {
    if (a.head_dim / Vec<T>::N > 32) return launch_cpl<T, 2>(a, stream);
  }
  return launch_cpl<T, 1>(a, stream);
}

}  // namespace

// Partition sizes are powers of two from 32 to 512 keys. With enough (sequence, KV head) blocks to fill the GPU
// several times over, a sequence is split only every 512 keys (bounds the time of the longest block); otherwise
// the partition halves until there are about 8 blocks per multiprocessor (whole waves, little tail).
void decode_plan(int batch, int num_kv_heads, int group, int head_dim, int max_context, int* partition, int* splits) {
  (void)head_dim;
  const int gp = heads_per_block(group);
  const int64_t rows = (int64_t)batch * num_kv_heads * ((group + gp - 1) / gp);
  const int64_t target = 8 * (int64_t)multiprocessors();
  int P = 512;
  while (P > 32 && rows * ((max_context + P - 1) / P) < target) P /= 2;
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
