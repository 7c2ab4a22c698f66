using Pipeline.Models.Architectures;
using Pipeline.Models.Runner;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>A forward over a batch laid out once (profiling runs, whole-prompt pooling, the static-batch generator).</summary>
public static class OneShotForward
{
    /// <summary>Final hidden states [T, hidden] for <paramref name="tokens"/> laid out as <paramref name="seqs"/>.</summary>
    public static Tensor Run(IDecoderModel model, IReadOnlyList<SequenceSlice> seqs, IReadOnlyList<long> tokens, Cache.KVCache cache, IAttentionBackend backend)
    {
        using var inputs = new InputBatch(cache.BlockSize, model.Device, backend.NeedsBlockTable, cache.Config.HasState);
        var batch = inputs.Prepare(seqs, tokens);
        using var meta = backend.BuildMetadata(batch, cache.Config);
        return model.Forward(batch.InputIds, null, new ForwardContext(backend, meta, cache));
    }

    /// <summary>
    /// A KV cache of <paramref name="numBlocks"/> blocks for <paramref name="model"/> in the backend's layout, with
    /// <paramref name="numStateSlots"/> state slots when the model has state-space layers (at least one).
    /// </summary>
    public static Cache.KVCache AllocateCache(IDecoderModel model, int numBlocks, int blockSize, IAttentionBackend backend, int numStateSlots = 1) =>
        new(model.KVCacheConfig(blockSize), numBlocks, backend, model.Device, Math.Max(1, numStateSlots));
}
