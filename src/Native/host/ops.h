// The library's operations in PyTorch terms: the C ABI (c_api.cpp) and the torch custom ops (torch_library.cpp)
// are both thin layers over these. Each checks its tensors and throws c10::Error on misuse.
#pragma once

#include <ATen/core/Tensor.h>

#include <optional>

namespace pn {

void paged_decode_attention(const at::Tensor& out, const at::Tensor& q, const at::Tensor& k_cache,
                            const at::Tensor& v_cache, const at::Tensor& block_tables, const at::Tensor& seq_lens,
                            double scale, int64_t sliding_window, int64_t block_size);

void paged_prefill_attention(const at::Tensor& out, const at::Tensor& q, const at::Tensor& k_cache,
                             const at::Tensor& v_cache, const at::Tensor& cu_seqlens_q, const at::Tensor& seq_lens_k,
                             const at::Tensor& block_tables, int64_t max_q, int64_t max_k, double scale,
                             int64_t sliding_window, int64_t block_size, int64_t total_k, bool allow_flash);

void rms_norm(const at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, double eps);
void fused_add_rms_norm(const at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps);
void silu_and_mul(const at::Tensor& out, const at::Tensor& x);
void rotary_and_cache(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
                      const at::Tensor& cos_sin_cache, const std::optional<at::Tensor>& k_cache,
                      const std::optional<at::Tensor>& v_cache, const std::optional<at::Tensor>& slot_mapping,
                      bool is_neox);

}  // namespace pn
