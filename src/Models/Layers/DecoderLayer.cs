using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>A pre-norm decoder block: x + attn(norm(x)), then + mlp(norm(x)).</summary>
public sealed class DecoderLayer(RmsNorm inputNorm, SelfAttention selfAttn, RmsNorm postAttentionNorm, GatedMlp mlp) : IDisposable
{
    public SelfAttention SelfAttn { get; } = selfAttn;
    public GatedMlp Mlp { get; } = mlp;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        x = x + SelfAttn.Forward(inputNorm.Forward(x), rope, ctx);
        return (x + Mlp.Forward(postAttentionNorm.Forward(x))).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        inputNorm.Dispose();
        SelfAttn.Dispose();
        postAttentionNorm.Dispose();
        Mlp.Dispose();
    }
}
