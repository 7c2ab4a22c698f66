using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// A block whose mixer is a state-space layer: x + mixer(norm(x)), then, when it has a feed-forward part,
/// + ffn(preFfNorm(x)) (Jamba, Bamba, GraniteMoeHybrid); each branch scaled by <paramref name="residualMultiplier"/>.
/// </summary>
public sealed class MambaDecoderLayer(INorm inputNorm, IMambaMixer mixer, INorm? preFfNorm = null, IFeedForward? ffn = null,
    double residualMultiplier = 1.0) : IDecoderLayer
{
    public Attention? Attn => null;
    public IMambaMixer Mixer { get; } = mixer;
    public IMambaMixer? Mamba => Mixer;

    public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var m = Mixer.Forward(inputNorm.Forward(x), ctx);
        if (residualMultiplier != 1.0) m.mul_(Scalars.Of(residualMultiplier));
        if (ffn is null) return x.add_(m);
        var (h, sum) = preFfNorm!.AddAndNorm(m, x);
        var f = ffn.Forward(h);
        if (residualMultiplier != 1.0) f.mul_(Scalars.Of(residualMultiplier));
        sum.add_(f);
        return ReferenceEquals(sum, x) ? x : sum.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        inputNorm.Dispose();
        Mixer.Dispose();
        preFfNorm?.Dispose();
        ffn?.Dispose();
    }
}
