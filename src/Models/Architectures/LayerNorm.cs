using Pipeline.Models.Layers;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>LayerNorm with weight and (unless null) bias over the last dimension.</summary>
public sealed class LayerNorm(Tensor weight, Tensor? bias, double eps) : INorm
{
    public Tensor Forward(Tensor x) => nn.functional.layer_norm(x, [weight.shape[0]], weight, bias, eps);

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
