// Gathers each sequence's keys and values from the paged cache into contiguous varlen tensors [total_k, Hkv, D]
// (row r belongs to the sequence s with cu_seqlens_k[s] <= r < cu_seqlens_k[s + 1], at position r - cu[s]),
// the layout flash attention's varlen entry point reads.
#include "common.cuh"
#include "launchers.h"

namespace pn {
namespace {

template <typename E>  // E: an unsigned integer type of the element's size (a raw copy, any dtype)
__global__ void kv_gather_kernel(GatherArgs a) {
  const int r = blockIdx.x;
  const int s = find_sequence(a.cu_seqlens_k, a.batch, r);
  const int pos = r - a.cu_seqlens_k[s];
  const int64_t slot = slot_of(a.block_tables + (int64_t)s * a.bt_stride, pos, a.block_size);
  const int D = a.head_dim, n = a.num_kv_heads * D;
  const E* kc = static_cast<const E*>(a.k_cache);
  const E* vc = static_cast<const E*>(a.v_cache);
  E* ko = static_cast<E*>(a.k_out) + (int64_t)r * n;
  E* vo = static_cast<E*>(a.v_out) + (int64_t)r * n;
  for (int i = threadIdx.x; i < n; i += blockDim.x) {
    const int h = i / D, d = i - h * D;
    ko[i] = kc[slot * a.k_stride_slot + (int64_t)h * a.k_stride_head + d];
    vo[i] = vc[slot * a.v_stride_slot + (int64_t)h * a.v_stride_head + d];
  }
}

}  // namespace

cudaError_t launch_kv_gather(const GatherArgs& a, int element_size, cudaStream_t stream) {
  if (a.rows == 0) return cudaSuccess;
  if (element_size == 2) kv_gather_kernel<uint16_t><<<a.rows, 128, 0, stream>>>(a);
  else if (element_size == 4) kv_gather_kernel<uint32_t><<<a.rows, 128, 0, stream>>>(a);
  else return cudaErrorInvalidValue;
  return cudaGetLastError();
}

}  // namespace pn
