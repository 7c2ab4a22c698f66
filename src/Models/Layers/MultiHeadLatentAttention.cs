using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>The sizes of multi-head latent attention (DeepSeek-V2/V3 config fields of the same names).</summary>
public sealed record MlaDims(int KvLoraRank, int QkNopeHeadDim, int QkRopeHeadDim, int VHeadDim)
{
    public int QkHeadDim => QkNopeHeadDim + QkRopeHeadDim;
}

/// <summary>
/// kv_b_proj split per head into the key up-projection W_UK [H, nope, lora] and the transposed value up-projection
/// W_UV^T [H, lora, v] (views of the one weight), which the backend absorbs into q and the output (vLLM's W_UK_T, W_UV).
/// </summary>
public sealed record MlaWeights(Tensor UK, Tensor UVT)
{
    public static MlaWeights From(Linear kvBProj, int numHeads, MlaDims d)
    {
        var perHead = kvBProj.Weight.view(numHeads, d.QkNopeHeadDim + d.VHeadDim, d.KvLoraRank);
        return new(perHead.narrow(1, 0, d.QkNopeHeadDim), perHead.narrow(1, d.QkNopeHeadDim, d.VHeadDim).transpose(1, 2));
    }
}

/// <summary>
/// DeepSeek-V2/V3's multi-head latent attention (vLLM's DeepseekV2MLAAttention). q comes from q_proj, or from the
/// q LoRA (q_a_proj, q_a_layernorm, q_b_proj); kv_a_proj_with_mqa gives the latent (normed by kv_a_layernorm) and one
/// shared rotary key part. Only those two are cached; kv_b_proj's up-projections are applied inside attention.
/// </summary>
public sealed class MultiHeadLatentAttention : ISelfAttention
{
    readonly Linear? _qProj, _qAProj, _qBProj;
    readonly RmsNorm? _qANorm;
    readonly Linear _kvAProj, _kvBProj, _oProj;
    readonly RmsNorm _kvANorm;
    readonly MlaDims _dims;
    readonly MlaWeights _weights;

    /// <param name="qProj">q_proj when there is no q LoRA; otherwise null and <paramref name="qLora"/> is given.</param>
    public MultiHeadLatentAttention(Linear? qProj, (Linear A, RmsNorm Norm, Linear B)? qLora, Linear kvAProjWithMqa, RmsNorm kvANorm,
        Linear kvBProj, Linear oProj, Attention attn)
    {
        if ((qProj is null) == (qLora is null)) throw new ArgumentException("MLA needs either q_proj or the q LoRA (q_a_proj, q_a_layernorm, q_b_proj)");
        _dims = attn.Mla ?? throw new ArgumentException("MLA needs an attention layer with latent dimensions");
        _qProj = qProj;
        (_qAProj, _qANorm, _qBProj) = qLora is { } l ? (l.A, l.Norm, l.B) : (null, null, null);
        _kvAProj = kvAProjWithMqa;
        _kvANorm = kvANorm;
        _kvBProj = kvBProj;
        _oProj = oProj;
        Attn = attn;
        _weights = MlaWeights.From(kvBProj, attn.NumHeads, _dims);
    }

    public Attention Attn { get; }

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        long T = x.shape[0];
        int H = Attn.NumHeads, nope = _dims.QkNopeHeadDim, r = _dims.QkRopeHeadDim, lora = _dims.KvLoraRank;
        var q = (_qProj?.Forward(x) ?? _qBProj!.Forward(_qANorm!.Forward(_qAProj!.Forward(x)))).view(T, H, nope + r);
        var qNope = q.narrow(-1, 0, nope);
        var qPe = q.narrow(-1, nope, r);
        var kv = _kvAProj.Forward(x);
        var kvC = _kvANorm.Forward(kv.narrow(-1, 0, lora).contiguous());
        var kPe = kv.narrow(-1, lora, r).unsqueeze(1); // [T, 1, rope]: one key part shared by every head
        if (rope.FusedWithCacheWrite) throw new InvalidOperationException("MLA rotates q_pe and k_pe itself; the rotary is not fused");
        if (rope.Cos is not null)
        {
            qPe = rope.Interleaved ? RotaryEmbedding.ApplyInterleaved(qPe, rope.Cos, rope.Sin!) : RotaryEmbedding.Apply(qPe, rope.Cos, rope.Sin!);
            kPe = rope.Interleaved ? RotaryEmbedding.ApplyInterleaved(kPe, rope.Cos, rope.Sin!) : RotaryEmbedding.Apply(kPe, rope.Cos, rope.Sin!);
        }
        var o = Attn.ForwardMla(qNope, qPe, kvC, kPe.squeeze(1), _weights, ctx);
        return _oProj.Forward(o).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _qProj?.Dispose();
        _qAProj?.Dispose();
        _qANorm?.Dispose();
        _qBProj?.Dispose();
        _kvAProj.Dispose();
        _kvANorm.Dispose();
        _kvBProj.Dispose();
        _oProj.Dispose();
    }
}
