// The same kernels as torch custom ops (torch.ops.pipeline_native.*), so Python can load the library with
// torch.ops.load_library and test or use them. CUDA graph capture from Python uses torch.cuda.CUDAGraph instead.
#include <torch/library.h>

#include "ops.h"

namespace {

void decode(const at::Tensor& out, const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
            const at::Tensor& block_tables, const at::Tensor& seq_lens, double scale, int64_t sliding_window,
            int64_t block_size) {
  pn::paged_decode_attention(out, q, k_cache, v_cache, block_tables, seq_lens, scale, sliding_window, block_size);
}

void prefill(const at::Tensor& out, const at::Tensor& q, const at::Tensor& k_cache, const at::Tensor& v_cache,
             const at::Tensor& cu_seqlens_q, const at::Tensor& seq_lens_k, const at::Tensor& block_tables,
             int64_t max_q, int64_t max_k, double scale, int64_t sliding_window, int64_t block_size, int64_t total_k,
             bool allow_flash) {
  pn::paged_prefill_attention(out, q, k_cache, v_cache, cu_seqlens_q, seq_lens_k, block_tables, max_q, max_k, scale,
                              sliding_window, block_size, total_k, allow_flash);
}

void rms(const at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, double eps) { pn::rms_norm(out, x, weight, eps); }

void fused_rms(const at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps) {
  pn::fused_add_rms_norm(x, residual, weight, eps);
}

void silu(const at::Tensor& out, const at::Tensor& x) { pn::silu_and_mul(out, x); }

void rotary(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
            const at::Tensor& cos_sin_cache, const std::optional<at::Tensor>& k_cache,
            const std::optional<at::Tensor>& v_cache, const std::optional<at::Tensor>& slot_mapping, bool is_neox) {
  pn::rotary_and_cache(q, k, v, positions, cos_sin_cache, k_cache, v_cache, slot_mapping, is_neox);
}

}  // namespace

TORCH_LIBRARY(pipeline_native, m) {
  m.def("paged_decode_attention(Tensor(a!) out, Tensor q, Tensor k_cache, Tensor v_cache, Tensor block_tables, "
        "Tensor seq_lens, float scale, int sliding_window, int block_size) -> ()");
  m.def("paged_prefill_attention(Tensor(a!) out, Tensor q, Tensor k_cache, Tensor v_cache, Tensor cu_seqlens_q, "
        "Tensor seq_lens_k, Tensor block_tables, int max_q, int max_k, float scale, int sliding_window, "
        "int block_size, int total_k=-1, bool allow_flash=True) -> ()");
  m.def("rms_norm(Tensor(a!) out, Tensor x, Tensor weight, float eps) -> ()");
  m.def("fused_add_rms_norm(Tensor(a!) x, Tensor(b!) residual, Tensor weight, float eps) -> ()");
  m.def("silu_and_mul(Tensor(a!) out, Tensor x) -> ()");
  m.def("rotary_and_cache(Tensor(a!) q, Tensor(b!) k, Tensor v, Tensor positions, Tensor cos_sin_cache, "
        "Tensor(c!)? k_cache, Tensor(d!)? v_cache, Tensor? slot_mapping, bool is_neox) -> ()");
}

TORCH_LIBRARY_IMPL(pipeline_native, CUDA, m) {
  m.impl("paged_decode_attention", &decode);
  m.impl("paged_prefill_attention", &prefill);
  m.impl("rms_norm", &rms);
  m.impl("fused_add_rms_norm", &fused_rms);
  m.impl("silu_and_mul", &silu);
  m.impl("rotary_and_cache", &rotary);
}
