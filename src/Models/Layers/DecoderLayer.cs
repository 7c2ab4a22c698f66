using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>A pre-norm decoder block: x + attn(norm(x)), then + mlp(norm(x)).</summary>
public sealed class DecoderLayer(RmsNorm inputNorm, SelfAttention selfAttn, RmsNorm postAttentionNorm, GatedMlp mlp) : IDisposable
{
    public SelfAttention SelfAttn { get; } = selfAttn;
    public GatedMlp Mlp { get; } = mlp;

    /// <summary>The layer's output; <paramref name="x"/> may be updated in place (it is the previous layer's output).</summary>
    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var (h, sum) = postAttentionNorm.AddAndNorm(SelfAttn.Forward(inputNorm.Forward(x), rope, ctx), x);
        sum.add_(Mlp.Forward(h));
        return ReferenceEquals(sum, x) ? x : sum.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        inputNorm.Dispose();
        SelfAttn.Dispose();
        postAttentionNorm.Dispose();
        Mlp.Dispose();
    }
}
