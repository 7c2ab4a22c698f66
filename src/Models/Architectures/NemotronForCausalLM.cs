using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Nemotron (Minitron, Nemotron-4): pre-norm blocks with LayerNorm1P (LayerNorm with bias whose scale is weight + 1,
/// eps norm_eps), an ungated MLP down(relu²(up(x))), attention_bias / mlp_bias, and NeoX rotary over the first
/// partial_rotary_factor of each head.
/// </summary>
public sealed class NemotronForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    double Eps => Config.DoubleField("norm_eps") ?? 1e-5;

    /// <summary>LayerNorm1P under `{prefix}.weight` / `{prefix}.bias`: the stored weight is the scale minus one.</summary>
    LayerNorm LayerNorm1P(ModelWeights w, string prefix, long size)
    {
        using var stored = w.Load(prefix + ".weight", [size], WeightInit.Zeros);
        return new LayerNorm(stored.add(Scalars.One), w.Load(prefix + ".bias", [size], WeightInit.Zeros), Eps);
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize;
        var mlp = new Mlp(w.Linear(prefix + "mlp.up_proj", c.IntermediateSize, h, c.MlpBias),
            w.Linear(prefix + "mlp.down_proj", h, c.IntermediateSize, c.MlpBias), Activations.Get(c.StringField("hidden_act") ?? "relu2"));
        return new DecoderLayer(LayerNorm1P(w, prefix + "input_layernorm", h),
            LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias),
            LayerNorm1P(w, prefix + "post_attention_layernorm", h), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) => LayerNorm1P(w, name[..^".weight".Length], size);
}
