using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// A mixture-of-experts feed-forward block over any <see cref="IMoeRouter"/>: the routed experts' weighted sum, plus
/// an optional shared MLP that every token goes through, added unscaled (GraniteMoeShared, ERNIE 4.5, HunYuan).
/// </summary>
public sealed class RoutedMoeBlock(IMoeRouter router, FusedMoe experts, IFeedForward? shared = null) : IFeedForward
{
    public IMoeRouter Router { get; } = router;
    public FusedMoe Experts { get; } = experts;
    public IFeedForward? Shared { get; } = shared;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var (weights, ids) = Router.Route(x);
        var y = Experts.Forward(x, weights, ids);
        if (Shared != null) y.add_(Shared.Forward(x));
        return y.MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        Router.Dispose();
        Experts.Dispose();
        Shared?.Dispose();
    }
}
