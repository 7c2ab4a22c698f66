namespace Pipeline.Models.Cache;

/// <summary>The per-layer specs of a model, grouped by equal spec (vLLM's KVCacheConfig, before sizing).</summary>
public sealed class KVCacheConfig
{
    public KVCacheConfig(IReadOnlyList<KVCacheSpec> layerSpecs)
    {
        if (layerSpecs.Count == 0) throw new ArgumentException("a model with a KV cache has at least one layer spec");
        LayerSpecs = layerSpecs;
        Groups = layerSpecs.Select((s, i) => (s, i)).GroupBy(x => x.s)
            .Select(g => new KVCacheGroupSpec(g.Select(x => x.i).ToArray(), g.Key)).ToArray();
        if (layerSpecs.Select(s => s.BlockSize).Distinct().Count() > 1)
            throw new NotSupportedException("layer groups with different block sizes are not supported yet");
    }

    public IReadOnlyList<KVCacheSpec> LayerSpecs { get; }
    public IReadOnlyList<KVCacheGroupSpec> Groups { get; }
    public int BlockSize => LayerSpecs[0].BlockSize;
    /// <summary>Bytes one block id costs across every layer.</summary>
    public long BytesPerBlock => LayerSpecs.Sum(s => s.PageSizeBytes);
    /// <summary>The sliding windows some layers use (empty when every layer attends fully).</summary>
    public IReadOnlyList<int> SlidingWindows => LayerSpecs.OfType<SlidingWindowSpec>().Select(s => s.SlidingWindow).Distinct().ToArray();
}
