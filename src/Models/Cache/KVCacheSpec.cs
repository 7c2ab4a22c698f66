using static TorchSharp.torch;

namespace Pipeline.Models.Cache;

/// <summary>
/// What one layer keeps per block of tokens (vLLM V1's KV cache specs). Layers with equal specs form one group;
/// the block manager allocates for each group by its rule. SSM state joins as a further spec.
/// </summary>
public abstract record KVCacheSpec(int BlockSize, ScalarType DType)
{
    /// <summary>Bytes one block of this layer occupies.</summary>
    public abstract long PageSizeBytes { get; }

    public static int ElementSize(ScalarType t) => t switch
    {
        ScalarType.Float32 or ScalarType.Int32 => 4,
        ScalarType.Float16 or ScalarType.BFloat16 or ScalarType.Int16 => 2,
        ScalarType.Float64 or ScalarType.Int64 => 8,
        _ => 1,
    };
}

/// <summary>A layer that attends to every earlier token: it keeps all of a request's blocks.</summary>
public record FullAttentionSpec(int BlockSize, int NumKvHeads, int HeadSize, ScalarType DType) : KVCacheSpec(BlockSize, DType)
{
    public override long PageSizeBytes => 2L * BlockSize * NumKvHeads * HeadSize * ElementSize(DType);
}

/// <summary>A layer that sees only the last <paramref name="SlidingWindow"/> tokens: blocks that leave the window can go.</summary>
public sealed record SlidingWindowSpec(int BlockSize, int NumKvHeads, int HeadSize, ScalarType DType, int SlidingWindow)
    : FullAttentionSpec(BlockSize, NumKvHeads, HeadSize, DType);

/// <summary>
/// A multi-head latent attention layer (DeepSeek-V2/V3): per token it keeps the compressed latent (kv_lora_rank values,
/// after kv_a_layernorm) and the rotated key part (qk_rope_head_dim values) as one "head", instead of full K and V for
/// every head (vLLM's MLAAttentionSpec). Its blocks are kept like full attention's; a page holds no separate V.
/// </summary>
public sealed record MlaAttentionSpec(int BlockSize, int KvLoraRank, int QkRopeHeadDim, ScalarType DType)
    : FullAttentionSpec(BlockSize, 1, KvLoraRank + QkRopeHeadDim, DType)
{
    public override long PageSizeBytes => (long)BlockSize * HeadSize * ElementSize(DType);
}

/// <summary>
/// A state-space (Mamba) mixer: it keeps no per-token blocks but one recurrent state per request, whatever its length
/// (vLLM's MambaSpec): the last <c>ConvKernel - 1</c> inputs of its causal conv1d ([ConvDim, ConvKernel - 1]) and the
/// SSM state ([NumHeads, HeadDim, StateSize]; Mamba 1 keeps one head per channel, HeadDim 1). Prefix caching is off for
/// models with these layers: a state summarises the whole prefix and cannot be shared by block.
/// </summary>
public sealed record MambaSpec(int BlockSize, ScalarType DType, int ConvDim, int ConvKernel, int NumHeads, int HeadDim, int StateSize)
    : KVCacheSpec(BlockSize, DType)
{
    public long[] ConvStateShape => [ConvDim, ConvKernel - 1];
    public long[] SsmStateShape => [NumHeads, HeadDim, StateSize];
    /// <summary>Bytes of one request's state (conv + SSM) for this layer.</summary>
    public override long PageSizeBytes => ((long)ConvDim * (ConvKernel - 1) + (long)NumHeads * HeadDim * StateSize) * ElementSize(DType);
}

/// <summary>Layers that share one spec, and so one allocation rule.</summary>
public sealed record KVCacheGroupSpec(IReadOnlyList<int> LayerIndices, KVCacheSpec Spec);
