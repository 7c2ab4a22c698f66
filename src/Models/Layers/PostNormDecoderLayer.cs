using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// A post-norm decoder block, the original Transformer's order: x = norm(x + attn(x)), then x = norm(x + mlp(x))
/// (OPT-350m, do_layer_norm_before=false).
/// </summary>
public sealed class PostNormDecoderLayer(SelfAttention selfAttn, INorm postAttentionNorm, IFeedForward mlp, INorm postFeedforwardNorm)
    : IDecoderLayer
{
    public SelfAttention SelfAttn { get; } = selfAttn;
    public Attention? Attn => SelfAttn.Attn;
    public IFeedForward Mlp { get; } = mlp;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var (h, _) = postAttentionNorm.AddAndNorm(SelfAttn.Forward(x, rope, ctx), x);
        var (output, _) = postFeedforwardNorm.AddAndNorm(Mlp.Forward(h), h);
        return output.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        SelfAttn.Dispose();
        postAttentionNorm.Dispose();
        Mlp.Dispose();
        postFeedforwardNorm.Dispose();
    }
}
