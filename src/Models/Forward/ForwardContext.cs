using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>What one forward pass carries to every layer: the step's batch, the backend, its metadata and the KV cache.</summary>
public sealed class ForwardContext(IAttentionBackend backend, AttentionMetadata metadata, Cache.KVCache cache)
{
    public IAttentionBackend Backend { get; } = backend;
    public AttentionMetadata Metadata { get; } = metadata;
    public Cache.KVCache Cache { get; } = cache;
    public StepBatch Batch => Metadata.Batch;
    public Tensor Positions => Metadata.Batch.Positions;
    /// <summary>Each sequence's encoder K/V for an encoder-decoder model's cross-attention; null for decoder-only models.</summary>
    public CrossAttentionBatch? CrossAttention { get; init; }
}
