using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Mamba 2 mixer settings, from Mamba2's config names or from a hybrid's mamba_* names (Bamba, GraniteMoeHybrid, Falcon-H1).</summary>
public sealed record Mamba2Options(Mamba2Dims Dims, bool ProjBias, bool ConvBias, double NormEps, (double Min, double Max) DtLimit)
{
    public static Mamba2Options From(ModelConfig c) => new(
        new Mamba2Dims(c.RequiredIntField("num_heads"), c.IntField("head_dim") ?? 64, c.IntField("n_groups") ?? 1,
            c.IntField("state_size") ?? 128, c.IntField("conv_kernel") ?? 4),
        c.BoolField("use_bias") ?? false, c.BoolField("use_conv_bias") ?? true, c.DoubleField("layer_norm_epsilon") ?? 1e-5, ReadDtLimit(c));

    public static Mamba2Options FromHybrid(ModelConfig c) => new(
        new Mamba2Dims(c.RequiredIntField("mamba_n_heads"), c.IntField("mamba_d_head") ?? 64, c.IntField("mamba_n_groups") ?? 1,
            c.IntField("mamba_d_state") ?? 128, c.IntField("mamba_d_conv") ?? 4),
        c.BoolField("mamba_proj_bias") ?? false, c.BoolField("mamba_conv_bias") ?? true, c.RmsNormEps, ReadDtLimit(c));

    /// <summary>time_step_limit as (min, max); transformers writes infinity as {"__float__": "Infinity"}.</summary>
    public static (double, double) ReadDtLimit(ModelConfig c)
    {
        if (c.Field("time_step_limit") is not JsonArray { Count: 2 } a) return (0, double.PositiveInfinity);
        return (Number(a[0]), Number(a[1]));
        static double Number(JsonNode? n) => n switch
        {
            JsonValue v when v.TryGetValue<double>(out var d) => d,
            JsonObject o when o["__float__"]?.GetValue<string>() is string s => s.ToLowerInvariant() switch
            {
                "inf" or "infinity" or "+inf" => double.PositiveInfinity,
                "-inf" or "-infinity" => double.NegativeInfinity,
                _ => double.Parse(s, System.Globalization.CultureInfo.InvariantCulture),
            },
            _ => throw new ModelConfigException($"time_step_limit holds {n?.ToJsonString() ?? "null"}, not a number"),
        };
    }

    /// <summary>
    /// The mixer under <paramref name="p"/>. <paramref name="gatedNorm"/>: its `norm.weight` gates and normalises the scan
    /// output (in groups of <paramref name="normGroupSize"/> channels, whole width when 0); without it y · silu(gate).
    /// <paramref name="foldMultipliers"/> may scale in_proj and out_proj in place once loaded (Falcon-H1's multipliers).
    /// </summary>
    public Mamba2Mixer Load(ModelWeights w, string p, int stateIndex, long hidden, bool gatedNorm = true, long normGroupSize = 0,
        bool normBeforeGate = false, Action<Linear, Linear>? foldMultipliers = null)
    {
        var d = Dims;
        long proj = d.Inner + d.ConvDim + d.NumHeads;
        var inProj = w.Linear(p + "in_proj", proj, hidden, ProjBias);
        var outProj = w.Linear(p + "out_proj", hidden, d.Inner, ProjBias);
        foldMultipliers?.Invoke(inProj, outProj);
        return new Mamba2Mixer(stateIndex, d,
            inProj,
            w.Load(p + "conv1d.weight", [d.ConvDim, 1, d.ConvKernel]),
            ConvBias ? w.Load(p + "conv1d.bias", [d.ConvDim], WeightInit.Zeros) : null,
            w.Load(p + "dt_bias", [d.NumHeads], WeightInit.Ones),
            w.Load(p + "A_log", [d.NumHeads]),
            w.Load(p + "D", [d.NumHeads], WeightInit.Ones),
            gatedNorm ? w.Load(p + "norm.weight", [d.Inner], WeightInit.Ones) : null, NormEps, normGroupSize,
            outProj,
            DtLimit, normBeforeGate);
    }
}

/// <summary>
/// Mamba 2: every layer is x + mixer(RMSNorm(x)) with the state-space-duality mixer (heads sharing B and C by group,
/// gated RMSNorm before out_proj), no attention and no positions; weights under `backbone.`. Norms use layer_norm_epsilon.
/// </summary>
public sealed class Mamba2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, MambaForCausalLM.Backbone)
{
    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override RmsNorm Norm(ModelWeights w, string name, long size) => w.RmsNorm(name, size, Mamba2Options.From(Config).NormEps);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => new MambaDecoderLayer(
        Norm(w, prefix + "norm.weight", Config.HiddenSize), Mamba2Options.From(Config).Load(w, prefix + "mixer.", index, Config.HiddenSize));
}
