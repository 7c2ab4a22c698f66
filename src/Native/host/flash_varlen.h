// PyTorch's own flash attention (aten::_flash_attention_forward) over contiguous varlen K/V.
#pragma once

#include <ATen/core/Tensor.h>

namespace pn {

// Causal (bottom-right aligned) varlen attention; window <= 0: none. Returns [T, H, D].
at::Tensor flash_varlen_forward(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v,
                                const at::Tensor& cu_seqlens_q, const at::Tensor& cu_seqlens_k, int64_t max_q,
                                int64_t max_k, double scale, int64_t window);

}  // namespace pn
