using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Cache;

/// <summary>
/// The paged KV cache tensors: per layer one K and one V tensor in the shape the attention backend declares
/// (for every backend so far [numBlocks * blockSize, numKvHeads, headSize], slot = block id * blockSize + offset).
/// An MLA layer (<see cref="MlaAttentionSpec"/>) has one latent row per slot in Keys and an empty Values tensor.
/// One block beyond <see cref="NumBlocks"/> is never handed out: padding rows of a captured batch write there.
/// </summary>
public sealed class KVCache : IDisposable
{
    public int NumBlocks { get; }
    public int BlockSize { get; }
    public KVCacheConfig Config { get; }
    public Tensor[] Keys { get; }
    public Tensor[] Values { get; }
    /// <summary>A slot no request owns (the first of the extra block).</summary>
    public long ScratchSlot => (long)NumBlocks * BlockSize;

    public KVCache(KVCacheConfig config, int numBlocks, IAttentionBackend backend, Device device)
    {
        Config = config;
        NumBlocks = numBlocks;
        BlockSize = config.BlockSize;
        int n = config.LayerSpecs.Count;
        Keys = new Tensor[n];
        Values = new Tensor[n];
        for (int i = 0; i < n; i++)
        {
            var spec = (FullAttentionSpec)config.LayerSpecs[i];
            var shape = backend.KVCacheShape(numBlocks + 1, spec);
            Keys[i] = torch.zeros(shape, spec.DType, device);
            // An MLA layer's latent row (Keys) is its key and, in part, its value: it keeps no V tensor.
            Values[i] = spec is MlaAttentionSpec ? torch.empty(0, spec.DType, device) : torch.zeros(shape, spec.DType, device);
        }
    }

    public void Dispose()
    {
        foreach (var t in Keys) t.Dispose();
        foreach (var t in Values) t.Dispose();
    }
}
