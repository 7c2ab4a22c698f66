using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// Decoder self-attention: the packed q/k/v projection, optional q/k norms (per head, as Qwen3, or over all heads of
/// the projection when <paramref name="qkNormAcrossHeads"/>, as OLMo 2), rotary positions, attention over the cache
/// and the output projection. <paramref name="clipQkv"/> clamps the q/k/v projections to [-clip, clip] (OLMo, DBRX);
/// <paramref name="qkNormAfterRope"/> applies the per-head q/k norms after rotary instead of before (HunYuan), which a
/// backend that rotates inside its cache write cannot do (the model then keeps rotary unfused).
/// </summary>
public sealed class SelfAttention(Linear qkvProj, Linear oProj, Attention attn, INorm? qNorm = null, INorm? kNorm = null,
    bool qkNormAcrossHeads = false, double? clipQkv = null, bool qkNormAfterRope = false) : ISelfAttention
{
    public Linear QkvProj { get; } = qkvProj;
    public Linear OProj { get; } = oProj;
    public Attention Attn { get; } = attn;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        long T = x.shape[0];
        var qkv = QkvProj.Forward(x);
        if (clipQkv is double clip) qkv = qkv.clamp(Scalars.Of(-clip), Scalars.Of(clip));
        var parts = QkvProj.Split(qkv);
        Tensor q = parts[0], k = parts[1];
        if (qkNormAcrossHeads)
        {
            if (qNorm != null) q = qNorm.Forward(q.contiguous());
            if (kNorm != null) k = kNorm.Forward(k.contiguous());
        }
        q = q.view(T, Attn.NumHeads, Attn.HeadSize);
        k = k.view(T, Attn.NumKvHeads, Attn.HeadSize);
        var v = parts[2].reshape(T, Attn.NumKvHeads, Attn.HeadSize);
        if (!qkNormAcrossHeads && !qkNormAfterRope)
        {
            if (qNorm != null) q = qNorm.Forward(q);
            if (kNorm != null) k = kNorm.Forward(k);
        }
        if (!rope.FusedWithCacheWrite && rope.Cos is not null)
        {
            q = rope.Interleaved ? RotaryEmbedding.ApplyInterleaved(q, rope.Cos!, rope.Sin!) : RotaryEmbedding.Apply(q, rope.Cos!, rope.Sin!);
            k = rope.Interleaved ? RotaryEmbedding.ApplyInterleaved(k, rope.Cos!, rope.Sin!) : RotaryEmbedding.Apply(k, rope.Cos!, rope.Sin!);
        }
        if (qkNormAfterRope)
        {
            if (rope.FusedWithCacheWrite) throw new InvalidOperationException("q/k norms after rotary need unfused rotary");
            if (qNorm != null) q = qNorm.Forward(q.contiguous());
            if (kNorm != null) k = kNorm.Forward(k.contiguous());
        }
        return OProj.Forward(Attn.Forward(q, k, v, rope, ctx)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        QkvProj.Dispose();
        OProj.Dispose();
        qNorm?.Dispose();
        kNorm?.Dispose();
        Attn.Sinks?.Dispose();
    }
}

/// <summary>
/// The step's rotary positions, computed once per forward: cos and sin per token ([T, rotaryDim] each, applied by
/// the layer), or, when the backend fuses rotary with the KV-cache write, the model's cos/sin table by position
/// (float32 [maxPositions, rotaryDim], cos half then sin half) that the backend's kernel reads.
/// <paramref name="Interleaved"/>: rotate adjacent pairs (GPT-J, Cohere, GLM) instead of the two halves (NeoX).
/// </summary>
public readonly record struct RotaryCosSin(Tensor? Cos, Tensor? Sin, Tensor? CosSinCache = null, bool Interleaved = false)
{
    /// <summary>No rotation at all (NoPE layers, e.g. SmolLM3's every fourth layer).</summary>
    public static readonly RotaryCosSin None = default;

    public bool FusedWithCacheWrite => CosSinCache is not null;
}
