using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Phi's config values beyond the common ones.</summary>
sealed record PhiOptions(double LayerNormEps, bool QkLayerNorm)
{
    public static PhiOptions From(ModelConfig c) => new(c.DoubleField("layer_norm_eps") ?? 1e-5, c.BoolField("qk_layernorm") ?? false);
}

/// <summary>
/// Phi-1/1.5/2: attention and MLP in parallel on one LayerNorm (input_layernorm), q/k/v and dense with biases, NeoX
/// rotary over partial_rotary_factor of each head, optional LayerNorms over each head of q and k (qk_layernorm),
/// fc1 → GELU-tanh → fc2 with biases, final_layernorm, and an lm_head with a bias.
/// </summary>
public sealed class PhiForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, Weights)
{
    static readonly WeightNames Weights = new("model.embed_tokens.weight", "model.layers.{0}.", "model.final_layernorm.weight", "lm_head.weight");

    readonly PhiOptions _options = PhiOptions.From(config);

    protected override bool LmHeadBias => true;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim, h = c.HiddenSize;
        string p = prefix + "self_attn.";
        var attention = new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], h, bias: true),
            w.Linear(p + "dense", h, nh * hd, bias: true),
            new Layers.Attention(index, nh, kv, hd, 1.0 / Math.Sqrt(hd)),
            _options.QkLayerNorm ? LayerNormAt(w, p + "q_layernorm", hd, _options.LayerNormEps) : null,
            _options.QkLayerNorm ? LayerNormAt(w, p + "k_layernorm", hd, _options.LayerNormEps) : null);
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.fc1", c.IntermediateSize, h, bias: true),
            w.Linear(prefix + "mlp.fc2", h, c.IntermediateSize, bias: true),
            Activations.Get(c.StringField("hidden_act") ?? "gelu_new"));
        return new ParallelDecoderLayer(LayerNormAt(w, prefix + "input_layernorm", h, _options.LayerNormEps), attention, null, mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);
}
