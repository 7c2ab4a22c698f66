/* pipeline_native: the C ABI of Pipeline's native CUDA library (CUDA graphs, paged attention, fused ops).
 *
 * Tensors are passed as TorchSharp handles: TorchSharp's Tensor.Handle is an at::Tensor*. Every function returns
 * 0 on success and nonzero on failure; pn_last_error() then describes the failure (per calling thread). No C++
 * exception crosses this boundary. All kernels run on the current CUDA stream of the calling thread and never
 * synchronize with the host, so they can be captured into a CUDA graph. */
#ifndef PIPELINE_NATIVE_H
#define PIPELINE_NATIVE_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define PN_API __attribute__((visibility("default")))
#define PN_ABI_VERSION 1

typedef void* pn_tensor;           /* at::Tensor* */
typedef struct pn_graph pn_graph;  /* opaque CUDA graph */
/* Capture callback: runs the work to record; returns 0 on success, nonzero to abort the capture. */
typedef int (*pn_graph_callback)(void* state);

PN_API int pn_abi_version(void);
/* The last error of the calling thread ("" if none). Valid until that thread's next failing call. */
PN_API const char* pn_last_error(void);
PN_API int pn_cuda_synchronize(void);

/* ---- CUDA graphs ---- */
PN_API int pn_graph_create(pn_graph** out_graph);
/* Runs callback `warmups` times on a side stream, synchronizes, then captures one more call into the graph.
 * All graphs of a device share one memory pool: capture the largest batch first. */
PN_API int pn_graph_capture(pn_graph* graph, pn_graph_callback callback, void* state, int warmups);
/* Replays the captured work on the calling thread's current stream. */
PN_API int pn_graph_replay(pn_graph* graph);
PN_API int pn_graph_destroy(pn_graph* graph);

/* ---- attention over the paged KV cache ----
 * k_cache/v_cache: one layer's cache, [num_blocks * block_size, Hkv, D] or [num_blocks, block_size, Hkv, D];
 * slot = block_id * block_size + offset. block_size <= 0 takes it from a 4-D cache.
 * sliding_window <= 0: none; else keys at pos <= q_pos - sliding_window are excluded. */

/* q, out: [B, H, D]; block_tables int32 [B, max_blocks]; seq_lens int32 [B] (0 = padding row: out is zeroed). */
PN_API int pn_paged_decode_attention(pn_tensor out, pn_tensor q, pn_tensor k_cache, pn_tensor v_cache,
                                     pn_tensor block_tables, pn_tensor seq_lens, double scale,
                                     int32_t sliding_window, int32_t block_size);

/* q, out: [T, H, D], a varlen batch; cu_seqlens_q int32 [B + 1]; seq_lens_k int32 [B] (context + new tokens);
 * query i of sequence s is at position seq_lens_k[s] - q_len(s) + i (causal, bottom-right aligned).
 * total_k: sum of seq_lens_k if the caller knows it, else -1 (costs one host synchronization on the flash path). */
PN_API int pn_paged_prefill_attention(pn_tensor out, pn_tensor q, pn_tensor k_cache, pn_tensor v_cache,
                                      pn_tensor cu_seqlens_q, pn_tensor seq_lens_k, pn_tensor block_tables,
                                      int64_t max_q, int64_t max_k, double scale, int32_t sliding_window,
                                      int32_t block_size, int64_t total_k);

/* ---- fused layers ---- */
/* out = weight * rmsnorm(x) over the last dim, as transformers' LlamaRMSNorm. */
PN_API int pn_rms_norm(pn_tensor out, pn_tensor x, pn_tensor weight, double eps);
/* residual += x; x = weight * rmsnorm(residual). Both in place. */
PN_API int pn_fused_add_rms_norm(pn_tensor x, pn_tensor residual, pn_tensor weight, double eps);
/* x: [T, 2I]; out: [T, I] = silu(x[:, :I]) * x[:, I:]. */
PN_API int pn_silu_and_mul(pn_tensor out, pn_tensor x);
/* q [T, H, D], k [T, Hkv, D] rotated in place by cos_sin_cache (float32 [max_pos, rot_dim], cos half then sin half)
 * at positions (int64 [T]); then k and v written into k_cache/v_cache at slot_mapping (int64 [T]; < 0 skips the row).
 * k_cache, v_cache and slot_mapping may be null (rotary only). is_neox: 1 = NeoX/Llama half rotation, 0 = GPT-J. */
PN_API int pn_rotary_and_cache(pn_tensor q, pn_tensor k, pn_tensor v, pn_tensor positions, pn_tensor cos_sin_cache,
                               pn_tensor k_cache, pn_tensor v_cache, pn_tensor slot_mapping, int32_t is_neox);

#ifdef __cplusplus
}
#endif

#endif /* PIPELINE_NATIVE_H */
