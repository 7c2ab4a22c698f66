namespace Pipeline.Models.Cache;

/// <summary>
/// The per-layer specs of a model, grouped by equal spec (vLLM's KVCacheConfig, before sizing). Attention layers
/// (<see cref="LayerSpecs"/>, in the order of their <see cref="Layers.Attention.LayerIndex"/>) share one block table;
/// state-space layers (<see cref="StateSpecs"/>, in the order of their state index) hold one state slot per request.
/// </summary>
public sealed class KVCacheConfig
{
    public KVCacheConfig(IReadOnlyList<KVCacheSpec> layerSpecs, IReadOnlyList<MambaSpec>? stateSpecs = null)
    {
        StateSpecs = stateSpecs ?? [];
        if (layerSpecs.Count == 0 && StateSpecs.Count == 0) throw new ArgumentException("a model with a KV cache has at least one layer spec");
        if (layerSpecs.Any(s => s is MambaSpec)) throw new ArgumentException("state-space specs go in stateSpecs, not with the attention layers'");
        LayerSpecs = layerSpecs;
        Groups = layerSpecs.Select((s, i) => (s, i)).GroupBy(x => x.s)
            .Select(g => new KVCacheGroupSpec(g.Select(x => x.i).ToArray(), g.Key)).ToArray();
        if (layerSpecs.Concat(StateSpecs).Select(s => s.BlockSize).Distinct().Count() > 1)
            throw new NotSupportedException("layer groups with different block sizes are not supported yet");
    }

    /// <summary>The attention layers' specs (empty for a model of state-space layers only).</summary>
    public IReadOnlyList<KVCacheSpec> LayerSpecs { get; }
    /// <summary>The state-space layers' specs, one per layer that keeps a recurrent state.</summary>
    public IReadOnlyList<MambaSpec> StateSpecs { get; }
    /// <summary>Groups of attention layers with equal specs.</summary>
    public IReadOnlyList<KVCacheGroupSpec> Groups { get; }
    public bool HasAttention => LayerSpecs.Count > 0;
    public bool HasState => StateSpecs.Count > 0;
    public int BlockSize => HasAttention ? LayerSpecs[0].BlockSize : StateSpecs[0].BlockSize;
    public TorchSharp.torch.ScalarType DType => HasAttention ? LayerSpecs[0].DType : StateSpecs[0].DType;
    /// <summary>Bytes one block id costs across every attention layer.</summary>
    public long BytesPerBlock => LayerSpecs.Sum(s => s.PageSizeBytes);
    /// <summary>Bytes one request's state slot costs across every state-space layer.</summary>
    public long StateBytesPerSlot => StateSpecs.Sum(s => s.PageSizeBytes);
    /// <summary>The sliding windows some layers use (empty when every layer attends fully).</summary>
    public IReadOnlyList<int> SlidingWindows => LayerSpecs.OfType<SlidingWindowSpec>().Select(s => s.SlidingWindow).Distinct().ToArray();
    /// <summary>
    /// The widest window when every attention layer slides (so blocks that leave it can be freed: vLLM's
    /// SlidingWindowManager); null when some layer attends fully or there is no attention.
    /// </summary>
    public int? UniformSlidingWindow => HasAttention && LayerSpecs.All(s => s is SlidingWindowSpec)
        ? LayerSpecs.Cast<SlidingWindowSpec>().Max(s => s.SlidingWindow) : null;
}
