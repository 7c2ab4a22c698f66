using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Mamba 1 mixer sizes, from Mamba's config names or from a hybrid's mamba_* names (Jamba).</summary>
public sealed record MambaOptions(int Inner, int StateSize, int ConvKernel, int TimeStepRank, bool ProjBias, bool ConvBias, double NormEps)
{
    public static MambaOptions From(ModelConfig c) => new(
        c.IntField("intermediate_size") ?? (int)((c.DoubleField("expand") ?? 2) * c.HiddenSize),
        c.IntField("state_size") ?? 16, c.IntField("conv_kernel") ?? 4,
        c.IntField("time_step_rank") ?? (c.HiddenSize + 15) / 16,
        c.BoolField("use_bias") ?? false, c.BoolField("use_conv_bias") ?? true, c.DoubleField("layer_norm_epsilon") ?? 1e-5);

    public static MambaOptions FromHybrid(ModelConfig c) => new(
        (int)((c.DoubleField("mamba_expand") ?? 2) * c.HiddenSize), c.IntField("mamba_d_state") ?? 16, c.IntField("mamba_d_conv") ?? 4,
        c.IntField("mamba_dt_rank") ?? (c.HiddenSize + 15) / 16,
        c.BoolField("mamba_proj_bias") ?? false, c.BoolField("mamba_conv_bias") ?? true, c.RmsNormEps);

    /// <summary>The mixer under <paramref name="p"/> (`...mixer.` / `...mamba.`); norms for dt, B and C where the family has them.</summary>
    public MambaMixer Load(ModelWeights w, string p, int stateIndex, long hidden,
        Func<Tensor, Tensor>? dtNorm = null, Func<Tensor, Tensor>? bNorm = null, Func<Tensor, Tensor>? cNorm = null, IDisposable? owned = null) => new(
        stateIndex,
        w.Linear(p + "in_proj", 2L * Inner, hidden, ProjBias),
        w.Load(p + "conv1d.weight", [Inner, 1, ConvKernel]),
        ConvBias ? w.Load(p + "conv1d.bias", [Inner], WeightInit.Zeros) : null,
        w.Linear(p + "x_proj", TimeStepRank + 2L * StateSize, Inner),
        w.Linear(p + "dt_proj", Inner, TimeStepRank, bias: true),
        w.Load(p + "A_log", [Inner, StateSize]),
        w.Load(p + "D", [Inner], WeightInit.Ones),
        w.Linear(p + "out_proj", hidden, Inner, ProjBias),
        TimeStepRank, StateSize, dtNorm, bNorm, cNorm, owned);
}

/// <summary>
/// Mamba (1): every layer is x + mixer(RMSNorm(x)) with the selective-scan mixer, no attention and no positions; weights
/// under `backbone.` (transformers' MambaForCausalLM). Norms use layer_norm_epsilon.
/// </summary>
public class MambaForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, Backbone)
{
    internal static readonly WeightNames Backbone = new("backbone.embeddings.weight", "backbone.layers.{0}.", "backbone.norm_f.weight", "lm_head.weight");

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override RmsNorm Norm(ModelWeights w, string name, long size) => w.RmsNorm(name, size, MambaOptions.From(Config).NormEps);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) =>
        new MambaDecoderLayer(Norm(w, prefix + "norm.weight", Config.HiddenSize), BuildMixer(index, prefix + "mixer.", w));

    protected virtual MambaMixer BuildMixer(int index, string prefix, ModelWeights w) =>
        MambaOptions.From(Config).Load(w, prefix, index, Config.HiddenSize);
}

/// <summary>Falcon-Mamba: Mamba with dt, B and C RMS-normalised (no weights, mixer_rms_eps) inside the mixer.</summary>
public sealed class FalconMambaForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : MambaForCausalLM(config, weights, dtype, device)
{
    protected override MambaMixer BuildMixer(int index, string prefix, ModelWeights w)
    {
        double eps = Config.DoubleField("mixer_rms_eps") ?? 1e-6;
        Func<Tensor, Tensor> norm = t => MambaOps.RmsNormNoWeight(t, eps);
        return MambaOptions.From(Config).Load(w, prefix, index, Config.HiddenSize, norm, norm, norm);
    }
}
