using static TorchSharp.torch;

namespace Pipeline.Models.Layers;

/// <summary>
/// y = x W^T + b, weights stored as Hugging Face saves them ([out, in]). Projections packed from several
/// checkpoint tensors (q/k/v, gate/up) keep their slice boundaries in <see cref="OutputSizes"/>, so LoRA,
/// quantization and sharding can address each part. How the product is computed is the swappable
/// <see cref="Method"/> (vLLM's LinearMethod): dense today.
/// </summary>
public sealed class Linear : IDisposable
{
    public Linear(Tensor weight, Tensor? bias, long[]? outputSizes = null, ILinearMethod? method = null)
    {
        Weight = weight;
        Bias = bias;
        OutputSizes = outputSizes ?? [weight.shape[0]];
        if (OutputSizes.Sum() != weight.shape[0])
            throw new ArgumentException($"output partitions {string.Join("+", OutputSizes)} do not add up to the weight's {weight.shape[0]} rows");
        Method = method ?? UnquantizedLinearMethod.Instance;
    }

    public Tensor Weight { get; }
    public Tensor? Bias { get; }
    /// <summary>Rows of each packed part, in order (one entry for an unpacked projection).</summary>
    public long[] OutputSizes { get; }
    public ILinearMethod Method { get; set; }
    public long InFeatures => Weight.shape[1];
    public long OutFeatures => Weight.shape[0];

    public Tensor Forward(Tensor x) => Method.Apply(this, x);

    /// <summary>The packed parts of an output of this projection (views along the last dimension).</summary>
    public Tensor[] Split(Tensor y)
    {
        var parts = new Tensor[OutputSizes.Length];
        long offset = 0;
        for (int i = 0; i < parts.Length; i++) { parts[i] = y.narrow(-1, offset, OutputSizes[i]); offset += OutputSizes[i]; }
        return parts;
    }

    /// <summary>Packs projections that read the same input into one (rows concatenated); the parts are disposed.</summary>
    public static Linear Packed(params Linear[] parts)
    {
        var w = cat(parts.Select(l => l.Weight).ToArray(), 0);
        var b = parts.All(l => l.Bias is not null) ? cat(parts.Select(l => l.Bias!).ToArray(), 0)
            : parts.Any(l => l.Bias is not null) ? throw new ArgumentException("packed projections must all have a bias or none") : null;
        var sizes = parts.SelectMany(l => l.OutputSizes).ToArray();
        foreach (var l in parts) l.Dispose();
        return new Linear(w, b, sizes);
    }

    public void Dispose()
    {
        Weight.Dispose();
        Bias?.Dispose();
    }
}

/// <summary>How a <see cref="Linear"/> computes its product (dense, LoRA, quantized, sharded).</summary>
public interface ILinearMethod
{
    Tensor Apply(Linear layer, Tensor x);
}

/// <summary>The plain dense product.</summary>
public sealed class UnquantizedLinearMethod : ILinearMethod
{
    public static readonly UnquantizedLinearMethod Instance = new();
    public Tensor Apply(Linear layer, Tensor x) => nn.functional.linear(x, layer.Weight, layer.Bias);
}
