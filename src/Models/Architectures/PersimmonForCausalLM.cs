using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Persimmon's config values beyond the common ones.</summary>
sealed record PersimmonOptions(double LayerNormEps, bool QkLayerNorm, string Activation)
{
    public static PersimmonOptions From(ModelConfig c) => new(c.DoubleField("layer_norm_eps") ?? 1e-5, c.BoolField("qk_layernorm") ?? true,
        c.StringField("hidden_act") ?? "relu2");
}

/// <summary>
/// Persimmon (Adept's persimmon-8b, Fuyu's language model): pre-norm blocks with LayerNorms, one fused
/// query_key_value with bias stored per head ([heads, 3, head_dim], reordered at load), a LayerNorm over each head of
/// q and k shared by the heads (qk_layernorm), NeoX rotary over partial_rotary_factor of each head, an ungated
/// dense_h_to_4h → ReLU² → dense_4h_to_h MLP with biases, and final_layernorm.
/// </summary>
public sealed class PersimmonForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, Weights)
{
    static readonly WeightNames Weights = new("model.embed_tokens.weight", "model.layers.{0}.", "model.final_layernorm.weight", "lm_head.weight");

    readonly PersimmonOptions _options = PersimmonOptions.From(config);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var o = _options;
        int nh = c.NumAttentionHeads, hd = c.HeadDim, h = c.HiddenSize;
        string p = prefix + "self_attn.";
        var attention = new SelfAttention(
            w.QkvGroupedByKvHead(p + "query_key_value", nh, nh, hd, h, bias: true),
            w.Linear(p + "dense", h, nh * hd, bias: true),
            new Layers.Attention(index, nh, nh, hd, 1.0 / Math.Sqrt(hd)),
            o.QkLayerNorm ? LayerNormAt(w, p + "q_layernorm", hd, o.LayerNormEps) : null,
            o.QkLayerNorm ? LayerNormAt(w, p + "k_layernorm", hd, o.LayerNormEps) : null);
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.dense_h_to_4h", c.IntermediateSize, h, bias: true),
            w.Linear(prefix + "mlp.dense_4h_to_h", h, c.IntermediateSize, bias: true),
            Activations.Get(o.Activation));
        return new DecoderLayer(LayerNormAt(w, prefix + "input_layernorm", h, o.LayerNormEps), attention,
            LayerNormAt(w, prefix + "post_attention_layernorm", h, o.LayerNormEps), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);
}
