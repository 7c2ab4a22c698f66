// Host-side entry points of the CUDA kernels: raw pointers, element strides and a stream, no PyTorch types.
// The host/ layer checks tensors and fills these structs; the kernels/ layer only launches.
#pragma once

#include <cuda_runtime.h>
#include <stdint.h>

namespace pn {

enum class DType : int { F32 = 0, F16 = 1, BF16 = 2 };

// Decode attention over a paged KV cache: one query token per sequence.
struct DecodeArgs {
  void* out;                 // [B, H, D]
  const void* q;             // [B, H, D]
  const void* k_cache;       // [slots, Hkv, D]
  const void* v_cache;       // [slots, Hkv, D]
  const int32_t* block_tables;  // [B, max_blocks]
  const int32_t* seq_lens;      // [B]; 0 = padding row
  float* part_out;           // [B, H, splits, D] (splits > 1 only)
  float* part_max;           // [B, H, splits]
  float* part_sum;           // [B, H, splits]
  int batch, num_heads, num_kv_heads, head_dim, block_size, max_blocks;
  int64_t q_stride_b, q_stride_h, out_stride_b, out_stride_h;
  int64_t k_stride_slot, k_stride_head, v_stride_slot, v_stride_head, bt_stride;
  float scale;
  int window;                // <= 0: none
  int partition;             // keys per split
  int splits;
};

// Picks the split size for a decode launch; the result depends only on shapes (graph-safe).
void decode_plan(int batch, int num_kv_heads, int group, int head_dim, int max_context, int* partition, int* splits);
cudaError_t launch_paged_decode(const DecodeArgs& a, DType dtype, cudaStream_t stream);

// Varlen causal attention over a paged KV cache, one warp per (query token, head); any dtype (used for fp32).
struct PrefillArgs {
  void* out;                 // [T, H, D]
  const void* q;             // [T, H, D]
  const void* k_cache;
  const void* v_cache;
  const int32_t* cu_seqlens_q;  // [B + 1]
  const int32_t* seq_lens_k;    // [B]
  const int32_t* block_tables;  // [B, max_blocks]
  int num_tokens, batch, num_heads, num_kv_heads, head_dim, block_size;
  int64_t q_stride_t, q_stride_h, out_stride_t, out_stride_h;
  int64_t k_stride_slot, k_stride_head, v_stride_slot, v_stride_head, bt_stride;
  float scale;
  int window;
};
cudaError_t launch_paged_prefill(const PrefillArgs& a, DType dtype, cudaStream_t stream);

// Copies each sequence's keys and values out of the paged cache into contiguous [total_k, Hkv, D] tensors.
struct GatherArgs {
  void* k_out;
  void* v_out;               // contiguous [rows, Hkv, D]
  const void* k_cache;
  const void* v_cache;
  const int32_t* cu_seqlens_k;  // [B + 1]
  const int32_t* block_tables;
  int rows, batch, num_kv_heads, head_dim, block_size;
  int64_t k_stride_slot, k_stride_head, v_stride_slot, v_stride_head, bt_stride;
};
cudaError_t launch_kv_gather(const GatherArgs& a, int element_size, cudaStream_t stream);

// out = rmsnorm(x) * weight (fused_add: residual += x first, then x = rmsnorm(residual) * weight in place).
struct RmsNormArgs {
  void* out;                 // rms_norm: output rows; fused: x (written in place)
  const void* x;             // rms_norm input rows
  void* residual;            // fused only
  const void* weight;        // [hidden]
  int rows, hidden;
  int64_t out_stride, x_stride, residual_stride;
  float eps;
  bool fused_add;
};
cudaError_t launch_rms_norm(const RmsNormArgs& a, DType dtype, cudaStream_t stream);

// out[t, i] = silu(x[t, i]) * x[t, I + i].
struct SiluMulArgs {
  void* out;
  const void* x;
  int rows, inter;
  int64_t out_stride, x_stride;
};
cudaError_t launch_silu_and_mul(const SiluMulArgs& a, DType dtype, cudaStream_t stream);

// Rotary embedding of q and k in place, then k and v written into the cache at slot_mapping (slot < 0: skip).
struct RotaryCacheArgs {
  void* q;                   // [T, H, D]
  void* k;                   // [T, Hkv, D]
  const void* v;             // [T, Hkv, D]
  const int64_t* positions;  // [T]
  const float* cos_sin;      // [max_pos, rot_dim]: cos half then sin half
  void* k_cache;             // [slots, Hkv, D] (may be null: no cache write)
  void* v_cache;
  const int64_t* slot_mapping;  // [T]
  int num_tokens, num_heads, num_kv_heads, head_dim, rot_dim;
  int64_t q_stride_t, q_stride_h, k_stride_t, k_stride_h, v_stride_t, v_stride_h;
  int64_t kc_stride_slot, kc_stride_head, vc_stride_slot, vc_stride_head;
  bool is_neox;
};
cudaError_t launch_rotary_and_cache(const RotaryCacheArgs& a, DType dtype, cudaStream_t stream);

}  // namespace pn
