using Pipeline.Models.Cache;
using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// The attention of one layer over the paged KV cache (vLLM's Attention layer): it knows its heads, scale, window
/// and soft-cap, declares its KV cache spec, and hands the work to the step's attention backend.
/// <paramref name="alibiSlopes"/>: one slope per head for ALiBi positions (BLOOM, MPT), added to the scores as
/// slope * (key position - query position); null without ALiBi. With <paramref name="mla"/> it is multi-head latent
/// attention: one cached "head" of kv_lora_rank + qk_rope_head_dim values per token (<see cref="NumKvHeads"/> 1,
/// <see cref="HeadSize"/> their sum). <paramref name="sinks"/>: a learned logit per head [H] that joins each query's
/// softmax denominator without a value (GPT-OSS's attention sinks); the layer that loads it disposes it.
/// <paramref name="causal"/>: false for vLLM's encoder-only attention (config is_causal false: GritLM, gte-Qwen2), where
/// every token of a prompt sees every other; such a prompt must be computed whole (pooling, never chunked).
/// </summary>
public sealed class Attention(int layerIndex, int numHeads, int numKvHeads, int headSize, double scale, int? slidingWindow = null, double? logitSoftcap = null,
    float[]? alibiSlopes = null, MlaDims? mla = null, Tensor? sinks = null, bool causal = true)
{
    /// <summary>Index of this layer's K/V tensors in the cache: its rank among the model's attention layers (the decoder
    /// layer's index when every layer attends; hybrids with state-space layers count attention layers only).</summary>
    public int LayerIndex { get; } = layerIndex;
    public int NumHeads { get; } = numHeads;
    public int NumKvHeads { get; } = numKvHeads;
    public int HeadSize { get; } = headSize;
    public double Scale { get; } = scale;
    public int? SlidingWindow { get; } = slidingWindow;
    public double? LogitSoftcap { get; } = logitSoftcap;
    public bool Causal { get; } = causal;
    public float[]? AlibiSlopes { get; } = alibiSlopes?.Length == numHeads ? alibiSlopes
        : alibiSlopes is null ? null : throw new ArgumentException($"{alibiSlopes.Length} ALiBi slopes for {numHeads} heads");
    /// <summary>The latent dimensions of a multi-head latent attention layer; null for every other layer.</summary>
    public MlaDims? Mla { get; } = mla;
    /// <summary>The attention sink logits [H]; null without sinks.</summary>
    public Tensor? Sinks { get; } = sinks?.shape is [var n] && n == numHeads ? sinks
        : sinks is null ? null : throw new ArgumentException($"attention sinks of shape [{string.Join(", ", sinks.shape)}] for {numHeads} heads");

    public KVCacheSpec Spec(int blockSize, ScalarType dtype) =>
        Mla is { } m ? new MlaAttentionSpec(blockSize, m.KvLoraRank, m.QkRopeHeadDim, dtype)
        : SlidingWindow is int w ? new SlidingWindowSpec(blockSize, NumKvHeads, HeadSize, dtype, w)
        : new FullAttentionSpec(blockSize, NumKvHeads, HeadSize, dtype);

    /// <summary>q [T, H, D], k/v [T, Hkv, D] → [T, H * D]. With a fused <paramref name="rope"/> q and k are not yet rotated.</summary>
    public Tensor Forward(Tensor q, Tensor k, Tensor v, RotaryCosSin rope, ForwardContext ctx) =>
        ctx.Backend.Forward(this, q, k, v, rope, ctx.Cache.Keys[LayerIndex], ctx.Cache.Values[LayerIndex], ctx.Metadata);

    /// <summary>
    /// Multi-head latent attention: q_nope [T, H, nope], rotated q_pe [T, H, rope], the normed latent [T, lora] and the
    /// rotated key part [T, rope] → [T, H * v_head_dim], through a backend that implements MLA.
    /// </summary>
    public Tensor ForwardMla(Tensor qNope, Tensor qPe, Tensor kvCNormed, Tensor kPe, MlaWeights weights, ForwardContext ctx) =>
        ctx.Backend is IMlaAttentionBackend mla
            ? mla.ForwardMla(this, qNope, qPe, kvCNormed, kPe, weights, ctx.Cache.Keys[LayerIndex], ctx.Metadata)
            : throw new NotSupportedException($"the {ctx.Backend.Name} attention backend has no multi-head latent attention");
}
