// Tensor validation and conversion helpers shared by the host-side ops.
#pragma once

#include <ATen/core/Tensor.h>
#include <c10/util/Exception.h>
#include <cuda_runtime.h>

#include "../kernels/launchers.h"

namespace pn {

inline DType dtype_of(const at::Tensor& t) {
  switch (t.scalar_type()) {
    case at::kFloat: return DType::F32;
    case at::kHalf: return DType::F16;
    case at::kBFloat16: return DType::BF16;
    default: TORCH_CHECK(false, "pipeline_native: unsupported dtype ", t.scalar_type(), " (float32, float16, bfloat16)");
  }
  return DType::F32;  // unreachable
}

inline void check_cuda_tensor(const at::Tensor& t, const char* name) {
  TORCH_CHECK(t.defined(), "pipeline_native: ", name, " is undefined");
  TORCH_CHECK(t.is_cuda(), "pipeline_native: ", name, " must be a CUDA tensor, got ", t.device());
}

inline void check_same_device(const at::Tensor& a, const at::Tensor& b, const char* name) {
  TORCH_CHECK(a.device() == b.device(), "pipeline_native: ", name, " is on ", b.device(), ", expected ", a.device());
}

inline void check_int_vector(const at::Tensor& t, at::ScalarType type, const char* name) {
  check_cuda_tensor(t, name);
  TORCH_CHECK(t.scalar_type() == type, "pipeline_native: ", name, " must be ", type, ", got ", t.scalar_type());
  TORCH_CHECK(t.dim() == 1 && t.is_contiguous(), "pipeline_native: ", name, " must be a contiguous vector");
}

inline void check_launch(cudaError_t e, const char* what) {
  TORCH_CHECK(e == cudaSuccess, "pipeline_native: ", what, " launch failed: ", cudaGetErrorString(e));
}

// One layer's paged cache seen as slots: [slots, Hkv, D] or [blocks, block_size, Hkv, D], last dim contiguous.
struct CacheView {
  void* data;
  int64_t slots, heads, head_dim, slot_stride, head_stride, block_size;
};

inline CacheView cache_view(const at::Tensor& c, int64_t block_size, const char* name) {
  check_cuda_tensor(c, name);
  TORCH_CHECK(c.dim() == 3 || c.dim() == 4, "pipeline_native: ", name, " must be [slots, Hkv, D] or [blocks, block_size, Hkv, D], got ", c.sizes());
  TORCH_CHECK(c.stride(-1) == 1, "pipeline_native: ", name, "'s last dimension must be contiguous");
  CacheView v{c.data_ptr(), 0, c.size(-2), c.size(-1), 0, c.stride(-2), block_size};
  if (c.dim() == 4) {
    TORCH_CHECK(c.stride(0) == c.size(1) * c.stride(1), "pipeline_native: ", name, "'s blocks must be laid out back to back");
    TORCH_CHECK(block_size <= 0 || block_size == c.size(1), "pipeline_native: block_size ", block_size, " does not match ", name, "'s ", c.size(1));
    v.block_size = c.size(1);
    v.slots = c.size(0) * c.size(1);
    v.slot_stride = c.stride(1);
  } else {
    v.slots = c.size(0);
    v.slot_stride = c.stride(0);
  }
  return v;
}

// 16-byte vector loads need aligned rows.
inline void check_vector_aligned(const CacheView& v, int64_t element_size, const char* name) {
  const int64_t per16 = 16 / element_size;
  TORCH_CHECK(reinterpret_cast<uintptr_t>(v.data) % 16 == 0 && v.slot_stride % per16 == 0 && v.head_stride % per16 == 0,
              "pipeline_native: ", name, " rows must be 16-byte aligned");
}

}  // namespace pn
