// pn::paged_prefill_attention: a varlen batch of queries against the paged cache.
// float16/bfloat16: gather each sequence's K/V out of the cache, then PyTorch's flash attention (GQA without repeating
// K/V, causal bottom-right, sliding window). float32, or when flash fails or PIPELINE_NATIVE_PREFILL=generic: the
// project's own exact kernel reading the cache directly.
#include <ATen/ATen.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/cuda/CUDAGuard.h>

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "flash_varlen.h"
#include "ops.h"
#include "tensor_checks.h"

namespace pn {
namespace {

std::atomic<bool> g_flash_broken{false};

bool flash_wanted() {
  static const bool wanted = [] {
    const char* e = std::getenv("PIPELINE_NATIVE_PREFILL");
    return e == nullptr || std::strcmp(e, "generic") != 0;
  }();
  return wanted && !g_flash_broken.load();
}

void flash_path(const at::Tensor& out, const at::Tensor& q, const CacheView& kc, const CacheView& vc,
                const at::Tensor& cu_seqlens_q, const at::Tensor& seq_lens_k, const at::Tensor& block_tables,
                int64_t max_q, int64_t max_k, double scale, int64_t window, int64_t total_k) {
  const int64_t B = seq_lens_k.size(0);
  at::Tensor cu_k = at::zeros({B + 1}, seq_lens_k.options());
  cu_k.slice(0, 1).copy_(at::cumsum(seq_lens_k, 0, at::kInt));
  const int64_t rows = total_k >= 0 ? total_k : cu_k[B].item<int64_t>();
  at::Tensor k = at::empty({rows, kc.heads, kc.head_dim}, q.options());
  at::Tensor v = at::empty({rows, vc.heads, vc.head_dim}, q.options());
  GatherArgs g{};
  g.k_out = k.data_ptr();
  g.v_out = v.data_ptr();
  g.k_cache = kc.data;
  g.v_cache = vc.data;
  g.cu_seqlens_k = cu_k.data_ptr<int32_t>();
  g.block_tables = block_tables.data_ptr<int32_t>();
  g.rows = (int)rows;
  g.batch = (int)B;
  g.num_kv_heads = (int)kc.heads;
  g.head_dim = (int)kc.head_dim;
  g.block_size = (int)kc.block_size;
  g.k_stride_slot = kc.slot_stride;
  g.k_stride_head = kc.head_stride;
  g.v_stride_slot = vc.slot_stride;
  g.v_stride_head = vc.head_stride;
  g.bt_stride = block_tables.stride(0);
  check_launch(launch_kv_gather(g, (int)q.element_size(), c10::cuda::getCurrentCUDAStream().stream()), "kv gather");
  const at::Tensor result = flash_varlen_forward(q, k, v, cu_seqlens_q, cu_k, max_q, max_k, scale, window);
  out.copy_(result);
}

void generic_path(const at::Tensor& out, const at::Tensor& q, const CacheView& kc, const CacheView& vc,
                  const at::Tensor& cu_seqlens_q, const at::Tensor& seq_lens_k, const at::Tensor& block_tables,
                  double scale, int64_t window) {
  PrefillArgs a{};
  a.out = out.data_ptr();
  a.q = q.data_ptr();
  a.k_cache = kc.data;
  a.v_cache = vc.data;
  a.cu_seqlens_q = cu_seqlens_q.data_ptr<int32_t>();
  a.seq_lens_k = seq_lens_k.data_ptr<int32_t>();
  a.block_tables = block_tables.data_ptr<int32_t>();
  a.num_tokens = (int)q.size(0);
  a.batch = (int)seq_lens_k.size(0);
  a.num_heads = (int)q.size(1);
  a.num_kv_heads = (int)kc.heads;
  a.head_dim = (int)q.size(2);
  a.block_size = (int)kc.block_size;
  a.q_stride_t = q.stride(0);
  a.q_stride_h = q.stride(1);
  a.out_stride_t = out.stride(0);
  a.out_stride_h = out.stride(1);
  a.k_stride_slot = kc.slot_stride;
  a.k_stride_head = kc.head_stride;
  a.v_stride_slot = vc.slot_stride;
  a.v_stride_head = vc.head_stride;
  a.bt_stride = block_tables.stride(0);
  a.scale = (float)scale;
  a.window = (int)window;
  check_launch(launch_paged_prefill(a, dtype_of(q), c10::cuda::getCurrentCUDAStream().stream()), "paged prefill attention");
}

}  // namespace

void paged_prefill_attention(const at::Tensor& out, const at::Tensor& q, const at::Tensor& k_cache,
                             const at::Tensor& v_cache, const at::Tensor& cu_seqlens_q, const at::Tensor& seq_lens_k,
                             const at::Tensor& block_tables, int64_t max_q, int64_t max_k, double scale,
                             int64_t sliding_window, int64_t block_size, int64_t total_k, bool allow_flash) {
  check_cuda_tensor(q, "q");
  check_cuda_tensor(out, "out");
  TORCH_CHECK(q.dim() == 3 && q.stride(2) == 1, "pipeline_native: q must be [T, H, D] with a contiguous last dim, got ", q.sizes());
  TORCH_CHECK(out.sizes() == q.sizes() && out.stride(2) == 1, "pipeline_native: out must be ", q.sizes(), " with a contiguous last dim");
  const CacheView kc = cache_view(k_cache, block_size, "k_cache");
  const CacheView vc = cache_view(v_cache, block_size, "v_cache");
  TORCH_CHECK(kc.block_size > 0, "pipeline_native: block_size must be given for a 3-D cache");
  TORCH_CHECK(vc.heads == kc.heads && vc.head_dim == kc.head_dim && vc.block_size == kc.block_size, "pipeline_native: k_cache and v_cache differ in shape");
  const int64_t H = q.size(1), D = q.size(2);
  TORCH_CHECK(kc.head_dim == D, "pipeline_native: cache head_dim ", kc.head_dim, " != q's ", D);
  TORCH_CHECK(kc.heads > 0 && H % kc.heads == 0, "pipeline_native: ", H, " query heads are not a multiple of ", kc.heads, " KV heads");
  TORCH_CHECK(D > 0 && D <= 256, "pipeline_native: head_dim must be at most 256, got ", D);
  for (const at::Tensor* t : {&out, &k_cache, &v_cache}) {
    check_same_device(q, *t, "a tensor");
    TORCH_CHECK(t->scalar_type() == q.scalar_type(), "pipeline_native: out, k_cache and v_cache must have q's dtype ", q.scalar_type());
  }
  check_int_vector(seq_lens_k, at::kInt, "seq_lens_k");
  check_int_vector(cu_seqlens_q, at::kInt, "cu_seqlens_q");
  const int64_t B = seq_lens_k.size(0);
  TORCH_CHECK(cu_seqlens_q.size(0) == B + 1, "pipeline_native: cu_seqlens_q must have B + 1 = ", B + 1, " entries");
  check_cuda_tensor(block_tables, "block_tables");
  TORCH_CHECK(block_tables.scalar_type() == at::kInt && block_tables.dim() == 2 && block_tables.stride(1) == 1 && block_tables.size(0) == B,
              "pipeline_native: block_tables must be int32 [B, max_blocks] with a contiguous last dim, got ", block_tables.sizes());
  for (const at::Tensor* t : {&seq_lens_k, &cu_seqlens_q, &block_tables}) check_same_device(q, *t, "an index tensor");
  if (q.size(0) == 0 || B == 0) return;

  const c10::cuda::CUDAGuard guard(q.device());
  if (allow_flash && q.scalar_type() != at::kFloat && D % 8 == 0 && flash_wanted()) {
    try {
      flash_path(out, q, kc, vc, cu_seqlens_q, seq_lens_k, block_tables, max_q, max_k, scale, sliding_window, total_k);
      return;
    } catch (const c10::Error& e) {
      g_flash_broken.store(true);
      std::fprintf(stderr, "pipeline_native: flash attention failed, using the generic prefill kernel from now on: %s\n",
                   e.what_without_backtrace());
    }
  }
  generic_path(out, q, kc, vc, cu_seqlens_q, seq_lens_k, block_tables, scale, sliding_window);
}

}  // namespace pn
