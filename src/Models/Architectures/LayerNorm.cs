using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>LayerNorm with weight and bias over the last dimension.</summary>
public sealed class LayerNorm(Tensor weight, Tensor bias, double eps) : IDisposable
{
    public Tensor Forward(Tensor x) => nn.functional.layer_norm(x, [weight.shape[0]], weight, bias, eps);

    public void Dispose()
    {
        weight.Dispose();
        bias.Dispose();
    }
}
