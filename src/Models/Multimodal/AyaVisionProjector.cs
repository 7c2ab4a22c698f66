using Pipeline.Models.Architectures;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Aya Vision's multi-modal projector: pixel shuffle (each downsample_factor x downsample_factor block of patches
/// becomes one row of factor² x the width, in transformers' order), LayerNorm, linear_1 to alignment_intermediate_size,
/// SwiGLU (the first half times SiLU of the second), linear_2 to the language model's width.
/// </summary>
public sealed class AyaVisionProjector(LayerNorm norm, Linear linear1, Linear linear2, int downsample) : IVisionProjector
{
    public static AyaVisionProjector Load(IWeightSource w, string prefix, int visionHidden, int textHidden, int intermediate,
        int downsample, double eps, ScalarType dtype, Device device)
    {
        Tensor W(string name, params long[] shape) => w.Load(prefix + name, shape, dtype, device);
        long inF = (long)visionHidden * downsample * downsample;
        return new AyaVisionProjector(new LayerNorm(W("layernorm.weight", inF), W("layernorm.bias", inF), eps),
            new Linear(W("linear_1.weight", intermediate, inF), W("linear_1.bias", intermediate)),
            new Linear(W("linear_2.weight", textHidden, intermediate / 2), W("linear_2.bias", textHidden)), downsample);
    }

    /// <summary>[N, side², hidden] to [N, (side / factor)², text hidden].</summary>
    public Tensor Forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        var x = linear1.Forward(norm.Forward(PixelShuffle(features)));
        var chunks = x.chunk(2, -1);
        x = linear2.Forward(chunks[0] * nn.functional.silu(chunks[1]));
        return x.reshape(features.shape[0], -1, x.shape[^1]).MoveToOuterDisposeScope();
    }

    /// <summary>AyaVisionMultiModalProjector.pixel_shuffle: [N, S, D] to [N, s/f, s/f, D f²] with s = sqrt(S).</summary>
    Tensor PixelShuffle(Tensor x)
    {
        long n = x.shape[0], side = (long)Math.Sqrt(x.shape[1]), d = x.shape[2], f = downsample;
        if (side * side != x.shape[1] || side % f != 0)
            throw new ArgumentException($"Aya Vision's pixel shuffle needs a square grid divisible by {f}, got {x.shape[1]} patches");
        return x.reshape(n, side, side / f, d * f).permute(0, 2, 1, 3)
            .reshape(n, side / f, side / f, d * f * f).permute(0, 2, 1, 3);
    }

    public void Dispose() { norm.Dispose(); linear1.Dispose(); linear2.Dispose(); }
}
