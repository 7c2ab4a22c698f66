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
    /// <summary>q_proj, k_proj and v_proj stacked into one matrix: one matmul instead of three.</summary>
    public required Linear QkvProj { get; init; }
    public required Linear OProj { get; init; }
    public RmsNorm? QNorm { get; init; }
    public RmsNorm? KNorm { get; init; }
    /// <summary>gate_proj and up_proj stacked into one matrix.</summary>
    public required Linear GateUpProj { get; init; }
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
        var qkv = QkvProj.Forward(h);
        long qSize = NumHeads * HeadDim, kvSize = NumKvHeads * HeadDim;
        var q = qkv.narrow(1, 0, qSize).view(T, NumHeads, HeadDim);
        var k = qkv.narrow(1, qSize, kvSize).view(T, NumKvHeads, HeadDim);
        var v = qkv.narrow(1, qSize + kvSize, kvSize).reshape(T, NumKvHeads, HeadDim);
        if (QNorm != null) q = QNorm.Forward(q);
        if (KNorm != null) k = KNorm.Forward(k);
        q = RotaryEmbedding.Apply(q, cos, sin);
        k = RotaryEmbedding.Apply(k, cos, sin);
        var attn = PagedAttention.Forward(q, k, v, cache.Keys[LayerIndex], cache.Values[LayerIndex], meta, 1.0 / Math.Sqrt(HeadDim), Sliding);
        x = x + OProj.Forward(attn);
        h = PostAttentionNorm.Forward(x);
        var gateUp = GateUpProj.Forward(h);
        long inter = gateUp.shape[1] / 2;
        var mlp = DownProj.Forward(nn.functional.silu(gateUp.narrow(1, 0, inter)) * gateUp.narrow(1, inter, inter));
        return (x + mlp).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        foreach (var d in new IDisposable?[] { InputNorm, PostAttentionNorm, QkvProj, OProj, QNorm, KNorm, GateUpProj, DownProj })
            d?.Dispose();
    }
}
