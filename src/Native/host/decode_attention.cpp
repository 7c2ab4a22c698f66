// pn::paged_decode_attention: checks, split planning and scratch buffers for the flash-decoding kernel.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include "ops.h"
#include "tensor_checks.h"

namespace pn {

void paged_decode_attention(const at::Tensor& out, const at::Tensor& q, const at::Tensor& k_cache,
                            const at::Tensor& v_cache, const at::Tensor& block_tables, const at::Tensor& seq_lens,
                            double scale, int64_t sliding_window, int64_t block_size) {
  check_cuda_tensor(q, "q");
  check_cuda_tensor(out, "out");
  TORCH_CHECK(q.dim() == 3 && q.stride(2) == 1, "pipeline_native: q must be [B, H, D] with a contiguous last dim, got ", q.sizes());
  TORCH_CHECK(out.sizes() == q.sizes() && out.stride(2) == 1, "pipeline_native: out must be ", q.sizes(), " with a contiguous last dim, got ", out.sizes());
  const CacheView kc = cache_view(k_cache, block_size, "k_cache");
  const CacheView vc = cache_view(v_cache, block_size, "v_cache");
  TORCH_CHECK(kc.block_size > 0, "pipeline_native: block_size must be given for a 3-D cache");
  TORCH_CHECK(vc.heads == kc.heads && vc.head_dim == kc.head_dim && vc.block_size == kc.block_size, "pipeline_native: k_cache and v_cache differ in shape");
  const int64_t B = q.size(0), H = q.size(1), D = q.size(2), Hkv = kc.heads;
  TORCH_CHECK(kc.head_dim == D, "pipeline_native: cache head_dim ", kc.head_dim, " != q's ", D);
  TORCH_CHECK(Hkv > 0 && H % Hkv == 0, "pipeline_native: ", H, " query heads are not a multiple of ", Hkv, " KV heads");
  TORCH_CHECK(D % 8 == 0 && D > 0 && D <= 256, "pipeline_native: head_dim must be a multiple of 8 up to 256, got ", D);
  for (const at::Tensor* t : {&out, &k_cache, &v_cache}) {
    check_same_device(q, *t, "a tensor");
    TORCH_CHECK(t->scalar_type() == q.scalar_type(), "pipeline_native: out, k_cache and v_cache must have q's dtype ", q.scalar_type());
  }
  check_vector_aligned(kc, q.element_size(), "k_cache");
  check_vector_aligned(vc, q.element_size(), "v_cache");
  check_cuda_tensor(block_tables, "block_tables");
  check_same_device(q, block_tables, "block_tables");
  TORCH_CHECK(block_tables.scalar_type() == at::kInt && block_tables.dim() == 2 && block_tables.stride(1) == 1 && block_tables.size(0) == B,
              "pipeline_native: block_tables must be int32 [B, max_blocks] with a contiguous last dim, got ", block_tables.sizes());
  check_int_vector(seq_lens, at::kInt, "seq_lens");
  check_same_device(q, seq_lens, "seq_lens");
  TORCH_CHECK(seq_lens.size(0) == B, "pipeline_native: seq_lens must have B = ", B, " entries");
  if (B == 0) return;

  const c10::cuda::CUDAGuard guard(q.device());
  const int64_t max_context = block_tables.size(1) * kc.block_size;
  int partition = 0, splits = 1;
  decode_plan((int)B, (int)Hkv, (int)(H / Hkv), (int)D, (int)std::max<int64_t>(max_context, 1), &partition, &splits);
  at::Tensor part_out, part_max, part_sum;
  if (splits > 1) {
    const auto f32 = q.options().dtype(at::kFloat);
    part_out = at::empty({B, H, splits, D}, f32);
    part_max = at::empty({B, H, splits}, f32);
    part_sum = at::empty({B, H, splits}, f32);
  }

  DecodeArgs a{};
  a.out = out.data_ptr();
  a.q = q.data_ptr();
  a.k_cache = kc.data;
  a.v_cache = vc.data;
  a.block_tables = block_tables.data_ptr<int32_t>();
  a.seq_lens = seq_lens.data_ptr<int32_t>();
  a.part_out = splits > 1 ? part_out.data_ptr<float>() : nullptr;
  a.part_max = splits > 1 ? part_max.data_ptr<float>() : nullptr;
  a.part_sum = splits > 1 ? part_sum.data_ptr<float>() : nullptr;
  a.batch = (int)B;
  a.num_heads = (int)H;
  a.num_kv_heads = (int)Hkv;
  a.head_dim = (int)D;
  a.block_size = (int)kc.block_size;
  a.max_blocks = (int)block_tables.size(1);
  a.q_stride_b = q.stride(0);
  a.q_stride_h = q.stride(1);
  a.out_stride_b = out.stride(0);
  a.out_stride_h = out.stride(1);
  a.k_stride_slot = kc.slot_stride;
  a.k_stride_head = kc.head_stride;
  a.v_stride_slot = vc.slot_stride;
  a.v_stride_head = vc.head_stride;
  a.bt_stride = block_tables.stride(0);
  a.scale = (float)scale;
  a.window = (int)sliding_window;
  a.partition = partition;
  a.splits = splits;
  check_launch(launch_paged_decode(a, dtype_of(q), c10::cuda::getCurrentCUDAStream().stream()), "paged decode attention");
}

}  // namespace pn
