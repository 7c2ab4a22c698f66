using Pipeline.Models.Forward;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Cache;

/// <summary>
/// The paged KV cache tensors: per attention layer one K and one V tensor in the shape the attention backend declares
/// (for every backend so far [numBlocks * blockSize, numKvHeads, headSize], slot = block id * blockSize + offset).
/// An MLA layer (<see cref="MlaAttentionSpec"/>) has one latent row per slot in Keys and an empty Values tensor.
/// One block beyond <see cref="NumBlocks"/> is never handed out: padding rows of a captured batch write there.
/// State-space layers keep per layer a conv state [slots + 1, ConvDim, ConvKernel - 1] and an SSM state
/// [slots + 1, NumHeads, HeadDim, StateSize], indexed by each request's state slot (the last slot is scratch).
/// </summary>
public sealed class KVCache : IDisposable
{
    public int NumBlocks { get; }
    public int BlockSize { get; }
    public KVCacheConfig Config { get; }
    public Tensor[] Keys { get; }
    public Tensor[] Values { get; }
    /// <summary>Per state-space layer: the last inputs of its causal conv1d, per state slot.</summary>
    public Tensor[] ConvStates { get; }
    /// <summary>Per state-space layer: its recurrent SSM state, per state slot.</summary>
    public Tensor[] SsmStates { get; }
    /// <summary>State slots requests can hold (0 for a model without state-space layers).</summary>
    public int NumStateSlots { get; }
    /// <summary>A slot no request owns (the first of the extra block).</summary>
    public long ScratchSlot => (long)NumBlocks * BlockSize;

    public KVCache(KVCacheConfig config, int numBlocks, IAttentionBackend backend, Device device, int numStateSlots = 0)
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
        if (config.HasState && numStateSlots < 1)
            throw new ArgumentException("a model with state-space layers needs at least one state slot", nameof(numStateSlots));
        NumStateSlots = config.HasState ? numStateSlots : 0;
        ConvStates = new Tensor[config.StateSpecs.Count];
        SsmStates = new Tensor[config.StateSpecs.Count];
        for (int i = 0; i < ConvStates.Length; i++)
        {
            var spec = config.StateSpecs[i];
            ConvStates[i] = torch.zeros([NumStateSlots + 1, .. spec.ConvStateShape], spec.DType, device);
            SsmStates[i] = torch.zeros([NumStateSlots + 1, .. spec.SsmStateShape], spec.DType, device);
        }
    }

    public void Dispose()
    {
        foreach (var t in Keys) t.Dispose();
        foreach (var t in Values) t.Dispose();
        foreach (var t in ConvStates) t.Dispose();
        foreach (var t in SsmStates) t.Dispose();
    }
}
