using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// RMSNorm computed in float32 and cast back, as transformers does. Gemma's variant scales by (1 + w), computed
/// in float32 before the cast (<paramref name="weightOffset"/> = 1). On CUDA with the native library the plain
/// variant runs as one fused kernel.
/// </summary>
public sealed class RmsNorm(Tensor weight, double eps, double weightOffset = 0) : INorm
{
    public Tensor Weight { get; } = weight;
    public double Eps { get; } = eps;
    public double WeightOffset { get; } = weightOffset;

    public Tensor Forward(Tensor x)
    {
        if (WeightOffset == 0 && FusedOps.For(x) && x.is_contiguous())
        {
            var output = torch.empty_like(x);
            Native.NativeOps.RmsNorm(output, x, Weight, Eps);
            return output;
        }
        using var scope = NewDisposeScope();
        var dtype = x.dtype;
        var xf = x.to_type(ScalarType.Float32);
        var variance = xf.square().mean([-1L], keepdim: true);
        var normed = xf * torch.rsqrt(variance.add(Scalars.Of(Eps)));
        if (WeightOffset != 0)
            return (normed * Weight.to_type(ScalarType.Float32).add(Scalars.Of(WeightOffset))).to_type(dtype).MoveToOuterDisposeScope();
        return (Weight * normed.to_type(dtype)).MoveToOuterDisposeScope();
    }

    /// <summary>residual += x, then the norm of the sum; returns (norm, sum). Fused in place on CUDA (vLLM's fused_add_rms_norm).</summary>
    public (Tensor Normed, Tensor Sum) AddAndNorm(Tensor x, Tensor residual)
    {
        if (WeightOffset == 0 && FusedOps.For(x) && x.is_contiguous() && residual.is_contiguous())
        {
            Native.NativeOps.FusedAddRmsNorm(x, residual, Weight, Eps);
            return (x, residual);
        }
        var sum = residual + x;
        return (Forward(sum), sum);
    }

    public void Dispose() => Weight.Dispose();
}
