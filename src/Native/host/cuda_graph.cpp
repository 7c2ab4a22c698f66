#include "cuda_graph.h"

#include <c10/cuda/CUDAFunctions.h>
#include <c10/cuda/CUDAGuard.h>
#include <c10/cuda/CUDAStream.h>
#include <c10/util/Exception.h>

#include <map>
#include <mutex>

namespace pn {
namespace {

// One pool per device, shared by every graph captured on it (vLLM captures the largest batch first so the smaller
// graphs fit in memory the larger one already reserved).
auto shared_pool(c10::DeviceIndex device) {
  static std::mutex mu;
  static std::map<c10::DeviceIndex, decltype(at::cuda::graph_pool_handle())> pools;
  std::lock_guard<std::mutex> lock(mu);
  auto it = pools.find(device);
  if (it == pools.end()) it = pools.emplace(device, at::cuda::graph_pool_handle()).first;
  return it->second;
}

void run(GraphCallback callback, void* state, const char* phase) {
  const int rc = callback(state);
  TORCH_CHECK(rc == 0, "the capture callback failed (", phase, ", status ", rc, ")");
}

}  // namespace

void capture(Graph& g, GraphCallback callback, void* state, int warmups) {
  TORCH_CHECK(callback != nullptr, "capture callback is null");
  TORCH_CHECK(!g.captured, "this graph was already captured");
  const c10::DeviceIndex device = c10::cuda::current_device();
  // Work queued before the capture (e.g. filling static inputs on the default stream) must finish first.
  c10::cuda::device_synchronize();
  c10::cuda::CUDAStream stream = c10::cuda::getStreamFromPool(false, device);
  {
    const c10::cuda::CUDAStreamGuard stream_guard(stream);
    for (int i = 0; i < warmups; ++i) run(callback, state, "warm-up");
    stream.synchronize();
    g.graph.capture_begin(shared_pool(device), cudaStreamCaptureModeThreadLocal);
    int rc = 0;
    try {
      rc = callback(state);
    } catch (...) {
      rc = -1;
    }
    if (rc != 0) {
      // End the capture so the stream leaves capture mode, then drop what was recorded.
      try { g.graph.capture_end(); } catch (...) {}
      try { g.graph.reset(); } catch (...) {}
      TORCH_CHECK(false, "the capture callback failed during capture (status ", rc, ")");
    }
    g.graph.capture_end();
  }
  g.captured = true;
  g.device = device;
}

void replay(Graph& g) {
  TORCH_CHECK(g.captured, "the graph has not been captured");
  const c10::cuda::CUDAGuard device_guard(static_cast<c10::DeviceIndex>(g.device));
  g.graph.replay();
}

}  // namespace pn
