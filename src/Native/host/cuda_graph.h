// CUDA graph capture of work done by a foreign callback (C# through TorchSharp), all graphs of a device sharing one
// memory pool.
#pragma once

#include <ATen/cuda/CUDAGraph.h>

namespace pn {

struct Graph {
  at::cuda::CUDAGraph graph;
  bool captured = false;
  int device = -1;
};

using GraphCallback = int (*)(void*);

// Runs callback `warmups` times on a pool stream, synchronizes, then captures one call. Throws on failure
// (including a nonzero return of the callback).
void capture(Graph& g, GraphCallback callback, void* state, int warmups);
void replay(Graph& g);

}  // namespace pn
