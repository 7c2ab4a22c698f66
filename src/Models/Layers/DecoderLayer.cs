using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// A pre-norm transformer decoder layer of the Llama family: self-attention with optional q/k/v/o bias,
/// per-head q/k RMSNorm (Qwen3), rotary embedding, optional sliding window; then a gated SiLU MLP.
/// </summary>
public sealed class DecoderLayer : IDisposable
{
    public required int LayerIndex { get; init; }
    public required RmsNorm InputNorm { get; init; }
    public required RmsNorm PostAttentionNorm { get; init; }
    public required Linear QProj { get; init; }
    public required Linear KProj { get; init; }
    public required Linear VProj { get; init; }
    public required Linear OProj { get; init; }
    public RmsNorm? QNorm { get; init; }
    public RmsNorm? KNorm { get; init; }
    public required Linear GateProj { get; init; }
    public required Linear UpProj { get; init; }
    public required Linear DownProj { get; init; }
    public required int NumHeads { get; init; }
    public required int NumKvHeads { get; init; }
    public required int HeadDim { get; init; }
    public required bool Sliding { get; init; }

    public Tensor Forward(Tensor x, Tensor cos, Tensor sin, KVCache cache, AttentionMetadata meta)
    {
        using var scope = NewDisposeScope();
        long T = x.shape[0];
        var h = InputNorm.Forward(x);
        var q = QProj.Forward(h).view(T, NumHeads, HeadDim);
        var k = KProj.Forward(h).view(T, NumKvHeads, HeadDim);
        var v = VProj.Forward(h).view(T, NumKvHeads, HeadDim);
        if (QNorm != null) q = QNorm.Forward(q);
        if (KNorm != null) k = KNorm.Forward(k);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        var attn = PagedAttention.Forward(q, k, v, cache.Keys[LayerIndex], cache.Values[LayerIndex], meta, 1.0 / Math.Sqrt(HeadDim), Sliding);
        x = x + OProj.Forward(attn);
        h = PostAttentionNorm.Forward(x);
        var mlp = DownProj.Forward(nn.functional.silu(GateProj.Forward(h)) * UpProj.Forward(h));
        return (x + mlp).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var d in new IDisposable?[] { InputNorm, PostAttentionNorm, QProj, KProj, VProj, OProj, QNorm, KNorm, GateProj, UpProj, DownProj })
            d?.Dispose();
    }
}
