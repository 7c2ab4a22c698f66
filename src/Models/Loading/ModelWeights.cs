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

    readonly Dictionary<string, LoRATarget> _targets = new();

    /// <summary>
    /// The projections built by <see cref="Linear(string, long, long, bool)"/> and <see cref="Packed"/>, by module name
    /// (a packed one under its packed name, each part a slice under its checkpoint name): what LoRA adapters can target.
    /// </summary>
    public IReadOnlyCollection<LoRATarget> LoRATargets => _targets.Values;

    /// <summary>`{name}.weight` [out, in] and, when <paramref name="bias"/>, `{name}.bias`.</summary>
    public Linear Linear(string name, long outFeatures, long inFeatures, bool bias = false)
    {
        var linear = new Linear(Load(name + ".weight", [outFeatures, inFeatures]), bias ? Load(name + ".bias", [outFeatures], WeightInit.Zeros) : null);
        _targets[name] = new LoRATarget(name, linear, [new LoRASlice(name, 0, outFeatures)]);
        return linear;
    }

    /// <summary>
    /// A projection stored as GPT-2's Conv1D: `{name}.weight` is [in, out] (x W + b) and is transposed to [out, in] once,
    /// here. <paramref name="outSizes"/> are the packed parts' widths when the tensor fuses several (GPT-2's c_attn).
    /// </summary>
    public Linear Conv1D(string name, long[] outSizes, long inFeatures, bool bias = true)
    {
        long rows = outSizes.Sum();
        using var stored = Load(name + ".weight", [inFeatures, rows]);
        return new Linear(stored.t().contiguous(), bias ? Load(name + ".bias", [rows], WeightInit.Zeros) : null, outSizes);
    }

    /// <summary>A packed projection under <paramref name="prefix"/>: each part of <paramref name="packed"/> read and stacked.</summary>
    public Linear Packed(string prefix, PackedModules modules, string packed, long[] outSizes, long inFeatures, bool bias = false)
    {
        var parts = modules.Parts(packed);
        if (modules.StoredPacked(packed))
        {
            // The checkpoint already holds the packed tensor (Phi-3's qkv_proj, gate_up_proj): read it whole, keep the parts' sizes.
            long rows = outSizes.Sum();
            var whole = new Linear(Load(prefix + packed + ".weight", [rows, inFeatures]),
                bias ? Load(prefix + packed + ".bias", [rows], WeightInit.Zeros) : null, outSizes);
            _targets[prefix + packed] = new LoRATarget(prefix + packed, whole, [new LoRASlice(prefix + packed, 0, rows)]);
            return whole;
        }
        if (parts.Count != outSizes.Length) throw new ArgumentException($"{packed} packs {parts.Count} projections but {outSizes.Length} sizes were given");
        var linear = Layers.Linear.Packed(parts.Select((p, i) => Linear(prefix + p, outSizes[i], inFeatures, bias)).ToArray());
        var slices = new LoRASlice[parts.Count];
        long offset = 0;
        for (int i = 0; i < parts.Count; i++)
        {
            _targets.Remove(prefix + parts[i]);
            slices[i] = new LoRASlice(prefix + parts[i], offset, outSizes[i]);
            offset += outSizes[i];
        }
        _targets[prefix + packed] = new LoRATarget(prefix + packed, linear, slices);
        return linear;
    }

    /// <summary>
    /// A fused q/k/v projection `{name}` stored grouped by KV head: for each of the <paramref name="numKvHeads"/>
    /// groups its query heads, then its key head, then its value head (rows [kv, heads/kv + 2, headDim]). GPT-NeoX,
    /// Persimmon and Bloom store [heads, 3, headDim] (one query per group); Falcon its grouped and multi-query layouts.
    /// The rows are reordered once here to [q; k; v], split by size like any packed projection.
    /// </summary>
    public Linear QkvGroupedByKvHead(string name, int numHeads, int numKvHeads, int headDim, long inFeatures, bool bias)
    {
        long rows = (long)(numHeads + 2 * numKvHeads) * headDim;
        using var weight = Load(name + ".weight", [rows, inFeatures]);
        using var b = bias ? Load(name + ".bias", [rows], WeightInit.Zeros) : null;
        return new Linear(ToQkvOrder(weight, numHeads, numKvHeads, headDim), b is null ? null : ToQkvOrder(b, numHeads, numKvHeads, headDim),
            [(long)numHeads * headDim, (long)numKvHeads * headDim, (long)numKvHeads * headDim]);
    }

    static Tensor ToQkvOrder(Tensor t, int numHeads, int numKvHeads, int headDim)
    {
        using var scope = NewDisposeScope();
        int group = numHeads / numKvHeads;
        long[] rest = t.shape[1..];
        var g = t.reshape([numKvHeads, group + 2, headDim, .. rest]);
        Tensor Rows(long start, long count) => g.narrow(1, start, count).reshape([-1, .. rest]);
        return torch.cat([Rows(0, group), Rows(group, 1), Rows(group + 1, 1)], 0).contiguous().MoveToOuterDisposeScope();
    }

    /// <summary>
    /// The experts under <paramref name="prefix"/> (e.g. `model.layers.0.mlp.experts.`) as stacked w13 [E, 2I, H] and
    /// w2 [E, H, I]. transformers 5 keeps them fused (`gate_up_proj` [E, 2I, H], gate rows first, and `down_proj`
    /// [E, H, I]); older checkpoints store each expert's projections as `{e}.{gate}.weight` [I, H], `{e}.{up}.weight`,
    /// `{e}.{down}.weight` [H, I] (w1/w3/w2 for Mixtral, gate_proj/up_proj/down_proj for Qwen). Either is read.
    /// </summary>
    public FusedMoe Experts(string prefix, int numExperts, long intermediate, long hidden, (string Gate, string Up, string Down) names,
        Func<Tensor, Tensor> activation)
    {
        if (Source.Contains(prefix + "gate_up_proj"))
            return new FusedMoe(Load(prefix + "gate_up_proj", [numExperts, 2 * intermediate, hidden]),
                Load(prefix + "down_proj", [numExperts, hidden, intermediate]), activation);
        var w13 = new Tensor[numExperts];
        var w2 = new Tensor[numExperts];
        for (int e = 0; e < numExperts; e++)
        {
            using var gate = Load($"{prefix}{e}.{names.Gate}.weight", [intermediate, hidden]);
            using var up = Load($"{prefix}{e}.{names.Up}.weight", [intermediate, hidden]);
            w13[e] = torch.cat([gate, up], 0);
            w2[e] = Load($"{prefix}{e}.{names.Down}.weight", [hidden, intermediate]);
        }
        var stacked = new FusedMoe(torch.stack(w13, 0), torch.stack(w2, 0), activation);
        foreach (var t in w13.Concat(w2)) t.Dispose();
        return stacked;
    }

    public RmsNorm RmsNorm(string name, long size, double eps, double weightOffset = 0) =>
        new(Load(name, [size], weightOffset == 0 ? WeightInit.Ones : WeightInit.Zeros), eps, weightOffset);
}

/// <summary>A projection LoRA can adapt: its module name, the layer, and its output slices by checkpoint module name.</summary>
public sealed record LoRATarget(string Module, Linear Linear, LoRASlice[] Slices);

/// <summary>Rows [Offset, Offset + Size) of a projection's output, which the checkpoint stores as module <paramref name="Name"/>.</summary>
public sealed record LoRASlice(string Name, long Offset, long Size);

/// <summary>Which checkpoint projections a model packs into one (vLLM's packed_modules_mapping), declared as data.</summary>
public sealed class PackedModules(IReadOnlyDictionary<string, string[]> map)
{
    public static readonly PackedModules Llama = new(new Dictionary<string, string[]>
    {
        ["qkv_proj"] = ["q_proj", "k_proj", "v_proj"],
        ["gate_up_proj"] = ["gate_proj", "up_proj"],
    });

    /// <summary>Phi-3: q/k/v and gate/up are stored already packed, under the packed names.</summary>
    public static readonly PackedModules Phi3 = new(new Dictionary<string, string[]>
    {
        ["qkv_proj"] = ["qkv_proj"],
        ["gate_up_proj"] = ["gate_up_proj"],
    });

    public IReadOnlyDictionary<string, string[]> Map { get; } = map;

    /// <summary>Whether the checkpoint stores <paramref name="packed"/> as one tensor (it maps to itself), to be split by size only.</summary>
    public bool StoredPacked(string packed) => Parts(packed) is [var only] && only == packed;

    public IReadOnlyList<string> Parts(string packed) =>
        Map.TryGetValue(packed, out var parts) ? parts : throw new ArgumentException($"'{packed}' is not a packed module of this model");
}
