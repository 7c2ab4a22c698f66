using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// LayerNorm over each head of x [T, heads, headDim] with its own weight (and bias) per head, [heads, headDim]:
/// StableLM's q/k norms (one LayerNorm per head) and Cohere's (one weight of [heads, headDim]).
/// </summary>
public sealed class PerHeadLayerNorm(Tensor weight, Tensor? bias, double eps) : INorm
{
    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var y = nn.functional.layer_norm(x, [weight.shape[^1]], null, null, eps).mul_(weight);
        if (bias is not null) y.add_(bias);
        return y.MoveToOuterDisposeScope();
    }

    public (Tensor Normed, Tensor Sum) AddAndNorm(Tensor x, Tensor residual)
    {
        var sum = residual + x;
        return (Forward(sum), sum);
    }

    public void Dispose()
    {
        weight.Dispose();
        bias?.Dispose();
    }
}
