using Pipeline.Models.Layers;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Loading;

/// <summary>
/// Builds layers from a weight source by checkpoint name, in the model's dtype and device. A projection the model
/// packs (q/k/v → qkv_proj, gate/up → gate_up_proj) is read from the checkpoint's parts as the architecture's
/// <see cref="PackedModules"/> declares, keeping each part's size.
/// </summary>
public sealed class ModelWeights(IWeightSource source, ScalarType dtype, Device device)
{
    public IWeightSource Source { get; } = source;
    public ScalarType DType { get; } = dtype;
    public Device Device { get; } = device;

    public Tensor Load(string name, long[] shape, WeightInit init = WeightInit.Normal) => Source.Load(name, shape, DType, Device, init);

    /// <summary>`{name}.weight` [out, in] and, when <paramref name="bias"/>, `{name}.bias`.</summary>
    public Linear Linear(string name, long outFeatures, long inFeatures, bool bias = false) =>
        new(Load(name + ".weight", [outFeatures, inFeatures]), bias ? Load(name + ".bias", [outFeatures], WeightInit.Zeros) : null);

    /// <summary>A packed projection under <paramref name="prefix"/>: each part of <paramref name="packed"/> read and stacked.</summary>
    public Linear Packed(string prefix, PackedModules modules, string packed, long[] outSizes, long inFeatures, bool bias = false)
    {
        var parts = modules.Parts(packed);
        if (parts.Count != outSizes.Length) throw new ArgumentException($"{packed} packs {parts.Count} projections but {outSizes.Length} sizes were given");
        return Layers.Linear.Packed(parts.Select((p, i) => Linear(prefix + p, outSizes[i], inFeatures, bias)).ToArray());
    }

    public RmsNorm RmsNorm(string name, long size, double eps, double weightOffset = 0) =>
        new(Load(name, [size], weightOffset == 0 ? WeightInit.Ones : WeightInit.Zeros), eps, weightOffset);
}

/// <summary>Which checkpoint projections a model packs into one (vLLM's packed_modules_mapping), declared as data.</summary>
public sealed class PackedModules(IReadOnlyDictionary<string, string[]> map)
{
    public static readonly PackedModules Llama = new(new Dictionary<string, string[]>
    {
        ["qkv_proj"] = ["q_proj", "k_proj", "v_proj"],
        ["gate_up_proj"] = ["gate_proj", "up_proj"],
    });

    public IReadOnlyDictionary<string, string[]> Map { get; } = map;

    public IReadOnlyList<string> Parts(string packed) =>
        Map.TryGetValue(packed, out var parts) ? parts : throw new ArgumentException($"'{packed}' is not a packed module of this model");
}
