// Shared device helpers for the kernels. No PyTorch headers here: kernels see raw pointers and strides only,
// so nvcc compiles them quickly and they can be syntax-checked without a PyTorch installation.
#pragma once

#include <cuda_bf16.h>
#include <cuda_fp16.h>
#include <cuda_runtime.h>
#include <math_constants.h>
#include <stdint.h>

namespace pn {

__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(__half x) { return __half2float(x); }
__device__ __forceinline__ float to_float(__nv_bfloat16 x) { return __bfloat162float(x); }

template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ __half from_float<__half>(float x) { return __float2half_rn(x); }
template <> __device__ __forceinline__ __nv_bfloat16 from_float<__nv_bfloat16>(float x) { return __float2bfloat16_rn(x); }

// Rounds a float to T's precision and back: reproduces PyTorch's per-op rounding in reduced precision.
template <typename T> __device__ __forceinline__ float round_to(float x) { return to_float(from_float<T>(x)); }

// Elements of T in one 16-byte access.
template <typename T> struct Vec { static constexpr int N = 16 / sizeof(T); };

// Loads 16 bytes (Vec<T>::N elements; p must be 16-byte aligned) and widens them to float.
template <typename T> __device__ __forceinline__ void load_vec(const T* p, float (&out)[Vec<T>::N]) {
  uint4 raw = *reinterpret_cast<const uint4*>(p);
  const T* e = reinterpret_cast<const T*>(&raw);
#pragma unroll
  for (int i = 0; i < Vec<T>::N; ++i) out[i] = to_float(e[i]);
}

__device__ __forceinline__ float warp_sum(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
#pragma unroll
  for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
  return v;
}

// Sum over groups of `width` consecutive lanes (width a power of two <= 32); every lane of the warp must call it.
__device__ __forceinline__ float group_sum(float v, int width) {
  for (int o = width >> 1; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
  return v;
}

// Block-wide sum; `scratch` holds 32 floats. Every thread of the block must call it; all get the result.
__device__ __forceinline__ float block_sum(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_sum(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : 0.f;
  return warp_sum(v);
}

// Block-wide max; same contract as block_sum.
__device__ __forceinline__ float block_max(float v, float* scratch) {
  const int lane = threadIdx.x & 31, warp = threadIdx.x >> 5, warps = (blockDim.x + 31) >> 5;
  v = warp_max(v);
  __syncthreads();
  if (lane == 0) scratch[warp] = v;
  __syncthreads();
  v = lane < warps ? scratch[lane] : -CUDART_INF_F;
  return warp_max(v);
}

// Index of the sequence holding row r of a varlen batch: the largest s in [0, batch) with cu[s] <= r.
// Zero-length sequences are skipped because the largest such s has cu[s + 1] > r.
__device__ __forceinline__ int find_sequence(const int32_t* cu, int batch, int r) {
  int lo = 0, hi = batch;
  while (hi - lo > 1) {
    const int mid = (lo + hi) >> 1;
    if (cu[mid] <= r) lo = mid; else hi = mid;
  }
  return lo;
}

// Slot of position pos of a sequence whose block-table row is bt.
__device__ __forceinline__ int64_t slot_of(const int32_t* bt, int pos, int block_size) {
  return (int64_t)bt[pos / block_size] * block_size + (pos % block_size);
}

}  // namespace pn
