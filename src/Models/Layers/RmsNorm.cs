using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>RMSNorm computed in float32 and cast back, as transformers does.</summary>
public sealed class RmsNorm(Tensor weight, double eps) : IDisposable
{
    public Tensor Weight { get; } = weight;

    public Tensor Forward(Tensor x)
    {
        using var scope = NewDisposeScope();
        var dtype = x.dtype;
        var xf = x.to_type(ScalarType.Float32);
        var variance = xf.square().mean([-1L], keepdim: true);
        var normed = (xf * torch.rsqrt(variance.add(Scalars.Of(eps)))).to_type(dtype);
        return (Weight * normed).MoveToOuterDisposeScope();
    }

    public void Dispose() => Weight.Dispose();
}
