// The extern "C" surface (include/pipeline_native.h): unwraps TorchSharp handles (at::Tensor*) and calls the ops
// under pn::guard, so every failure becomes a status code plus pn_last_error().
#include "../include/pipeline_native.h"

#include <ATen/ATen.h>
#include <c10/cuda/CUDAFunctions.h>

#include <optional>

#include "cuda_graph.h"
#include "errors.h"
#include "ops.h"

struct pn_graph {
  pn::Graph impl;
};

namespace {

const at::Tensor& tensor_ref(pn_tensor h, const char* name) {
  TORCH_CHECK(h != nullptr, "tensor argument '", name, "' is null");
  return *static_cast<const at::Tensor*>(h);
}

std::optional<at::Tensor> maybe(pn_tensor h) {
  if (h == nullptr) return std::nullopt;
  return *static_cast<const at::Tensor*>(h);
}

}  // namespace

extern "C" {

PN_API int pn_abi_version(void) { return PN_ABI_VERSION; }

PN_API const char* pn_last_error(void) { return pn::last_error(); }

PN_API int pn_cuda_synchronize(void) {
  return pn::guard("pn_cuda_synchronize", [] { c10::cuda::device_synchronize(); });
}

PN_API int pn_graph_create(pn_graph** out_graph) {
  return pn::guard("pn_graph_create", [&] {
    TORCH_CHECK(out_graph != nullptr, "out_graph is null");
    *out_graph = new pn_graph();
  });
}

PN_API int pn_graph_capture(pn_graph* graph, pn_graph_callback callback, void* state, int warmups) {
  return pn::guard("pn_graph_capture", [&] {
    TORCH_CHECK(graph != nullptr, "graph is null");
    TORCH_CHECK(warmups >= 0, "warmups must be >= 0");
    pn::capture(graph->impl, callback, state, warmups);
  });
}

PN_API int pn_graph_replay(pn_graph* graph) {
  return pn::guard("pn_graph_replay", [&] {
    TORCH_CHECK(graph != nullptr, "graph is null");
    pn::replay(graph->impl);
  });
}

PN_API int pn_graph_destroy(pn_graph* graph) {
  return pn::guard("pn_graph_destroy", [&] { delete graph; });
}

PN_API int pn_paged_decode_attention(pn_tensor out, pn_tensor q, pn_tensor k_cache, pn_tensor v_cache,
                                     pn_tensor block_tables, pn_tensor seq_lens, double scale,
                                     int32_t sliding_window, int32_t block_size) {
  return pn::guard("pn_paged_decode_attention", [&] {
    pn::paged_decode_attention(tensor_ref(out, "out"), tensor_ref(q, "q"), tensor_ref(k_cache, "k_cache"), tensor_ref(v_cache, "v_cache"),
                               tensor_ref(block_tables, "block_tables"), tensor_ref(seq_lens, "seq_lens"), scale, sliding_window,
                               block_size);
  });
}

PN_API int pn_paged_prefill_attention(pn_tensor out, pn_tensor q, pn_tensor k_cache, pn_tensor v_cache,
                                      pn_tensor cu_seqlens_q, pn_tensor seq_lens_k, pn_tensor block_tables,
                                      int64_t max_q, int64_t max_k, double scale, int32_t sliding_window,
                                      int32_t block_size, int64_t total_k) {
  return pn::guard("pn_paged_prefill_attention", [&] {
    pn::paged_prefill_attention(tensor_ref(out, "out"), tensor_ref(q, "q"), tensor_ref(k_cache, "k_cache"), tensor_ref(v_cache, "v_cache"),
                                tensor_ref(cu_seqlens_q, "cu_seqlens_q"), tensor_ref(seq_lens_k, "seq_lens_k"),
                                tensor_ref(block_tables, "block_tables"), max_q, max_k, scale, sliding_window, block_size,
                                total_k, true);
  });
}

PN_API int pn_rms_norm(pn_tensor out, pn_tensor x, pn_tensor weight, double eps) {
  return pn::guard("pn_rms_norm", [&] { pn::rms_norm(tensor_ref(out, "out"), tensor_ref(x, "x"), tensor_ref(weight, "weight"), eps); });
}

PN_API int pn_fused_add_rms_norm(pn_tensor x, pn_tensor residual, pn_tensor weight, double eps) {
  return pn::guard("pn_fused_add_rms_norm",
                   [&] { pn::fused_add_rms_norm(tensor_ref(x, "x"), tensor_ref(residual, "residual"), tensor_ref(weight, "weight"), eps); });
}

PN_API int pn_silu_and_mul(pn_tensor out, pn_tensor x) {
  return pn::guard("pn_silu_and_mul", [&] { pn::silu_and_mul(tensor_ref(out, "out"), tensor_ref(x, "x")); });
}

PN_API int pn_rotary_and_cache(pn_tensor q, pn_tensor k, pn_tensor v, pn_tensor positions, pn_tensor cos_sin_cache,
                               pn_tensor k_cache, pn_tensor v_cache, pn_tensor slot_mapping, int32_t is_neox) {
  return pn::guard("pn_rotary_and_cache", [&] {
    pn::rotary_and_cache(tensor_ref(q, "q"), tensor_ref(k, "k"), tensor_ref(v, "v"), tensor_ref(positions, "positions"),
                         tensor_ref(cos_sin_cache, "cos_sin_cache"), maybe(k_cache), maybe(v_cache), maybe(slot_mapping),
                         is_neox != 0);
  });
}

}  // extern "C"
