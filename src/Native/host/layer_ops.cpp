// pn::rms_norm, pn::fused_add_rms_norm, pn::silu_and_mul, pn::rotary_and_cache: checks and launches.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops.h"
#include "tensor_checks.h"

namespace pn {
namespace {

cudaStream_t stream() { return c10::cuda::getCurrentCUDAStream().stream(); }

// Rows of the last dimension: the tensor must view as [rows, n] with a contiguous last dim (row stride free).
at::Tensor rows_of(const at::Tensor& t, const char* name) {
  check_cuda_tensor(t, name);
  TORCH_CHECK(t.dim() >= 1 && t.stride(-1) == 1, "pipeline_native: ", name, " must have a contiguous last dim");
  return t.dim() == 2 ? t : t.view({-1, t.size(-1)});
}

void check_norm_weight(const at::Tensor& x, const at::Tensor& weight) {
  check_cuda_tensor(weight, "weight");
  check_same_device(x, weight, "weight");
  TORCH_CHECK(weight.dim() == 1 && weight.is_contiguous() && weight.size(0) == x.size(-1),
              "pipeline_native: weight must be a contiguous vector of ", x.size(-1));
  TORCH_CHECK(weight.scalar_type() == x.scalar_type(), "pipeline_native: weight dtype ", weight.scalar_type(), " != ", x.scalar_type());
}

}  // namespace

void rms_norm(const at::Tensor& out, const at::Tensor& x, const at::Tensor& weight, double eps) {
  const at::Tensor x2 = rows_of(x, "x"), o2 = rows_of(out, "out");
  TORCH_CHECK(out.sizes() == x.sizes() && out.scalar_type() == x.scalar_type(), "pipeline_native: out must match x");
  check_same_device(x, out, "out");
  check_norm_weight(x, weight);
  const c10::cuda::CUDAGuard guard(x.device());
  RmsNormArgs a{};
  a.out = o2.data_ptr();
  a.x = x2.data_ptr();
  a.weight = weight.data_ptr();
  a.rows = (int)x2.size(0);
  a.hidden = (int)x2.size(1);
  a.out_stride = o2.stride(0);
  a.x_stride = x2.stride(0);
  a.eps = (float)eps;
  a.fused_add = false;
  check_launch(launch_rms_norm(a, dtype_of(x), stream()), "rms norm");
}

void fused_add_rms_norm(const at::Tensor& x, const at::Tensor& residual, const at::Tensor& weight, double eps) {
  const at::Tensor x2 = rows_of(x, "x"), r2 = rows_of(residual, "residual");
  TORCH_CHECK(residual.sizes() == x.sizes() && residual.scalar_type() == x.scalar_type(), "pipeline_native: residual must match x");
  check_same_device(x, residual, "residual");
  check_norm_weight(x, weight);
  const c10::cuda::CUDAGuard guard(x.device());
  RmsNormArgs a{};
  a.out = x2.data_ptr();
  a.x = x2.data_ptr();
  a.residual = r2.data_ptr();
  a.weight = weight.data_ptr();
  a.rows = (int)x2.size(0);
  a.hidden = (int)x2.size(1);
  a.out_stride = x2.stride(0);
  a.x_stride = x2.stride(0);
  a.residual_stride = r2.stride(0);
  a.eps = (float)eps;
  a.fused_add = true;
  check_launch(launch_rms_norm(a, dtype_of(x), stream()), "fused add rms norm");
}

void silu_and_mul(const at::Tensor& out, const at::Tensor& x) {
  const at::Tensor x2 = rows_of(x, "x"), o2 = rows_of(out, "out");
  TORCH_CHECK(x2.size(1) % 2 == 0, "pipeline_native: silu_and_mul needs an even last dim, got ", x2.size(1));
  TORCH_CHECK(o2.size(0) == x2.size(0) && o2.size(1) * 2 == x2.size(1) && out.scalar_type() == x.scalar_type(),
              "pipeline_native: out must be [..., ", x2.size(1) / 2, "] of x's dtype, got ", out.sizes());
  check_same_device(x, out, "out");
  const c10::cuda::CUDAGuard guard(x.device());
  SiluMulArgs a{};
  a.out = o2.data_ptr();
  a.x = x2.data_ptr();
  a.rows = (int)x2.size(0);
  a.inter = (int)o2.size(1);
  a.out_stride = o2.stride(0);
  a.x_stride = x2.stride(0);
  check_launch(launch_silu_and_mul(a, dtype_of(x), stream()), "silu and mul");
}

void rotary_and_cache(const at::Tensor& q, const at::Tensor& k, const at::Tensor& v, const at::Tensor& positions,
                      const at::Tensor& cos_sin_cache, const std::optional<at::Tensor>& k_cache,
                      const std::optional<at::Tensor>& v_cache, const std::optional<at::Tensor>& slot_mapping,
                      bool is_neox) {
  for (const at::Tensor* t : {&q, &k, &v}) {
    check_cuda_tensor(*t, "q/k/v");
    TORCH_CHECK(t->dim() == 3 && t->stride(2) == 1, "pipeline_native: q, k, v must be [T, heads, D] with a contiguous last dim, got ", t->sizes());
    TORCH_CHECK(t->scalar_type() == q.scalar_type(), "pipeline_native: q, k, v must share a dtype");
    check_same_device(q, *t, "k/v");
  }
  const int64_t T = q.size(0), D = q.size(2);
  TORCH_CHECK(k.size(0) == T && v.size(0) == T && k.size(2) == D && v.size(2) == D && v.size(1) == k.size(1),
              "pipeline_native: k and v must be [T, Hkv, D] beside q ", q.sizes());
  check_int_vector(positions, at::kLong, "positions");
  TORCH_CHECK(positions.size(0) == T, "pipeline_native: positions must have T = ", T, " entries");
  check_cuda_tensor(cos_sin_cache, "cos_sin_cache");
  TORCH_CHECK(cos_sin_cache.scalar_type() == at::kFloat && cos_sin_cache.dim() == 2 && cos_sin_cache.is_contiguous(),
              "pipeline_native: cos_sin_cache must be a contiguous float32 [max_pos, rot_dim]");
  const int64_t rot = cos_sin_cache.size(1);
  TORCH_CHECK(rot % 2 == 0 && rot > 0 && rot <= D, "pipeline_native: rot_dim ", rot, " must be even and at most head_dim ", D);
  const bool write = k_cache.has_value() && k_cache->defined();
  CacheView kc{}, vc{};
  if (write) {
    TORCH_CHECK(v_cache.has_value() && v_cache->defined() && slot_mapping.has_value() && slot_mapping->defined(),
                "pipeline_native: k_cache needs v_cache and slot_mapping");
    kc = cache_view(*k_cache, 0, "k_cache");
    vc = cache_view(*v_cache, 0, "v_cache");
    TORCH_CHECK(kc.heads == k.size(1) && kc.head_dim == D && vc.heads == kc.heads && vc.head_dim == D,
                "pipeline_native: the caches must hold [*, ", k.size(1), ", ", D, "]");
    TORCH_CHECK(k_cache->scalar_type() == q.scalar_type() && v_cache->scalar_type() == q.scalar_type(), "pipeline_native: the caches must have q's dtype");
    check_int_vector(*slot_mapping, at::kLong, "slot_mapping");
    TORCH_CHECK(slot_mapping->size(0) == T, "pipeline_native: slot_mapping must have T = ", T, " entries");
  }
  const c10::cuda::CUDAGuard guard(q.device());
  RotaryCacheArgs a{};
  a.q = q.data_ptr();
  a.k = k.data_ptr();
  a.v = v.data_ptr();
  a.positions = positions.data_ptr<int64_t>();
  a.cos_sin = cos_sin_cache.data_ptr<float>();
  a.k_cache = write ? kc.data : nullptr;
  a.v_cache = write ? vc.data : nullptr;
  a.slot_mapping = write ? slot_mapping->data_ptr<int64_t>() : nullptr;
  a.num_tokens = (int)T;
  a.num_heads = (int)q.size(1);
  a.num_kv_heads = (int)k.size(1);
  a.head_dim = (int)D;
  a.rot_dim = (int)rot;
  a.q_stride_t = q.stride(0);
  a.q_stride_h = q.stride(1);
  a.k_stride_t = k.stride(0);
  a.k_stride_h = k.stride(1);
  a.v_stride_t = v.stride(0);
  a.v_stride_h = v.stride(1);
  a.kc_stride_slot = kc.slot_stride;
  a.kc_stride_head = kc.head_stride;
  a.vc_stride_slot = vc.slot_stride;
  a.vc_stride_head = vc.head_stride;
  a.is_neox = is_neox;
  check_launch(launch_rotary_and_cache(a, dtype_of(q), stream()), "rotary and cache");
}

}  // namespace pn
