using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>One block of a decoder-only model: self-attention and a feed-forward part, each with its residual.</summary>
public interface IDecoderLayer : IDisposable
{
    /// <summary>The layer's paged attention; null for a layer without one (a state-space mixer).</summary>
    Attention? Attn { get; }
    /// <summary>The layer's state-space mixer; null for a layer without one.</summary>
    IMambaMixer? Mamba => null;
    /// <summary>The layer's output; <paramref name="x"/> may be updated in place (it is the previous layer's output).</summary>
    Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx);
}

/// <summary>
/// A pre-norm decoder block: x + attn(norm(x)), then + mlp(norm(x)); each branch's output is scaled by
/// <paramref name="residualMultiplier"/> before it is added (Granite's residual_multiplier; 1 elsewhere).
/// </summary>
public sealed class DecoderLayer(INorm inputNorm, ISelfAttention selfAttn, INorm postAttentionNorm, IFeedForward mlp, double residualMultiplier = 1.0)
    : IDecoderLayer
{
    public ISelfAttention SelfAttn { get; } = selfAttn;
    public Attention? Attn => SelfAttn.Attn;
    public IFeedForward Mlp { get; } = mlp;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var a = SelfAttn.Forward(inputNorm.Forward(x), rope, ctx);
        if (residualMultiplier != 1.0) a.mul_(Scalars.Of(residualMultiplier));
        var (h, sum) = postAttentionNorm.AddAndNorm(a, x);
        var m = Mlp.Forward(h);
        if (residualMultiplier != 1.0) m.mul_(Scalars.Of(residualMultiplier));
        sum.add_(m);
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

/// <summary>
/// A block whose two branches are each wrapped in optional norms before and after: x + post(attn(pre(x))), then
/// x + post(mlp(pre(x))). Gemma 2/3 use all four ("sandwich" norms); OLMo 2 only the norms after each branch.
/// </summary>
public sealed class SandwichDecoderLayer(INorm? preAttentionNorm, SelfAttention selfAttn, INorm? postAttentionNorm,
    INorm? preFeedforwardNorm, IFeedForward mlp, INorm? postFeedforwardNorm) : IDecoderLayer
{
    public SelfAttention SelfAttn { get; } = selfAttn;
    public Attention? Attn => SelfAttn.Attn;
    public IFeedForward Mlp { get; } = mlp;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var a = SelfAttn.Forward(preAttentionNorm?.Forward(x) ?? x, rope, ctx);
        if (postAttentionNorm != null) a = postAttentionNorm.Forward(a);
        var h = x + a;
        var m = Mlp.Forward(preFeedforwardNorm?.Forward(h) ?? h);
        if (postFeedforwardNorm != null) m = postFeedforwardNorm.Forward(m);
        return h.add_(m).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        preAttentionNorm?.Dispose();
        SelfAttn.Dispose();
        postAttentionNorm?.Dispose();
        preFeedforwardNorm?.Dispose();
        Mlp.Dispose();
        postFeedforwardNorm?.Dispose();
    }
}

/// <summary>
/// A block whose attention and MLP both read the same input: x + attn(norm(x)) + mlp(mlpNorm(x)), with mlpNorm the
/// attention's norm when null (GPT-J, GPT-NeoX's parallel residual, Phi, Cohere, Falcon; Falcon-40B has two norms).
/// </summary>
public sealed class ParallelDecoderLayer(INorm inputNorm, SelfAttention selfAttn, INorm? mlpNorm, IFeedForward mlp) : IDecoderLayer
{
    public SelfAttention SelfAttn { get; } = selfAttn;
    public Attention? Attn => SelfAttn.Attn;
    public IFeedForward Mlp { get; } = mlp;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var h = inputNorm.Forward(x);
        var a = SelfAttn.Forward(h, rope, ctx);
        var m = Mlp.Forward(mlpNorm?.Forward(x) ?? h);
        return x.add_(a).add_(m).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        inputNorm.Dispose();
        SelfAttn.Dispose();
        mlpNorm?.Dispose();
        Mlp.Dispose();
    }
}
