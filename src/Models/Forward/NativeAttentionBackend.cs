using Pipeline.Models.Cache;
using Pipeline.Models.Layers;
using Pipeline.Models.Native;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// Attention with libpipeline_native's kernels on CUDA: the new K/V are written to their slots, then a step of
/// decodes only runs the paged decode kernel (split-K over the block table), and any other step runs one varlen
/// prefill over the paged cache for all its sequences (causal aligned to each sequence's end, so prefix-cached
/// context and chunked prefill work). Nothing synchronizes with the host, so decode steps can be captured in a
/// CUDA graph.
/// </summary>
public sealed class NativeAttentionBackend : IAttentionBackend
{
    public static readonly NativeAttentionBackend Instance = new();

    public string Name => "native-paged";
    public bool NeedsBlockTable => true;
    public bool FusesRotary => true;
    public bool Supports(Attention layer) => layer.LogitSoftcap is null && layer.AlibiSlopes is null && layer.Mla is null && layer.Sinks is null && layer.Causal;

    public long[] KVCacheShape(int numBlocks, FullAttentionSpec spec) => [(long)numBlocks * spec.BlockSize, spec.NumKvHeads, spec.HeadSize];

    public AttentionMetadata BuildMetadata(StepBatch batch, KVCacheConfig kvConfig) => new NativeAttentionMetadata(batch)
    {
        DecodeOnly = batch.Seqs.All(s => s.QueryLen == 1),
        MaxQueryLen = batch.MaxQueryLen,
        MaxSeqLen = batch.MaxSeqLen,
        TotalSeqLen = batch.Seqs.Sum(s => (long)s.SeqLen),
    };

    public Tensor Forward(Attention layer, Tensor q, Tensor k, Tensor v, RotaryCosSin rope, Tensor kCache, Tensor vCache, AttentionMetadata metadata)
    {
        var meta = (NativeAttentionMetadata)metadata;
        var batch = meta.Batch;
        if (rope.CosSinCache is { } table)
            NativeOps.RotaryAndCache(q, k, v, batch.Positions, table, kCache, vCache, batch.SlotMapping);
        else
        {
            kCache.index_copy_(0, batch.SlotMapping, k);
            vCache.index_copy_(0, batch.SlotMapping, v);
        }
        long T = q.shape[0], H = q.shape[1], D = q.shape[2];
        if (!q.is_contiguous()) q = q.contiguous();
        var output = torch.empty([T, H, D], q.dtype, q.device);
        int window = layer.SlidingWindow ?? 0;
        if (layer.LogitSoftcap is not null) throw new NotSupportedException("the native attention backend has no logit soft-capping yet");
        if (layer.Sinks is not null) throw new NotSupportedException("the native attention backend has no attention sinks yet");
        if (meta.DecodeOnly)
            NativeOps.PagedDecodeAttention(output, q, kCache, vCache, batch.BlockTable!, batch.SeqLens!, layer.Scale, window, batch.BlockSize);
        else
            NativeOps.PagedPrefillAttention(output, q, kCache, vCache, batch.QueryStartLoc!, batch.SeqLens!, batch.BlockTable!,
                meta.MaxQueryLen, meta.MaxSeqLen, layer.Scale, window, batch.BlockSize, meta.TotalSeqLen);
        return output.view(T, H * D);
    }
}

/// <summary>The native backend's per-step data: the device tensors live in the step's batch; these are host-side sizes.</summary>
public sealed class NativeAttentionMetadata(StepBatch batch) : AttentionMetadata(batch)
{
    public required bool DecodeOnly { get; init; }
    public required int MaxQueryLen { get; init; }
    public required int MaxSeqLen { get; init; }
    public required long TotalSeqLen { get; init; }
}
