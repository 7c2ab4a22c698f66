using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// PhiMoE (Phi-3.5-MoE): Mixtral's block with LayerNorms (weight and bias, eps rms_norm_eps) in place of RMSNorm,
/// attention_bias on q/k/v/o, a bias on the lm_head when lm_head_bias, and experts `block_sparse_moe.experts.{e}.w1/w3/w2`
/// routed by sparsemixer (top-2 within router_jitter_noise's band of each maximum), and LongRoPE scaled by its mscale.
/// </summary>
public sealed class PhiMoEForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override bool LmHeadBias => Config.BoolField("lm_head_bias") ?? false;

    /// <summary>
    /// LongRoPE as Phi-3.5-MoE configures it: the cos/sin scale is short_mscale / long_mscale when given (instead of
    /// LongRoPE's sqrt(1 + ln(factor) / ln(original length))). Only one scale for both ranges is supported.
    /// </summary>
    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device)
    {
        var rope = (config.Field("rope_parameters") ?? config.Field("rope_scaling")) as JsonObject;
        double? Num(string key) => rope?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
        if (config.Rope.RopeType != "longrope" || (Num("short_mscale") ?? Num("long_mscale")) is not double mscale)
            return new(config, device);
        if (Num("long_mscale") is double l && Num("short_mscale") is double s && l != s)
            throw new ModelConfigException($"PhiMoE LongRoPE with different short_mscale ({s}) and long_mscale ({l}) is not supported");
        return new(config with { Rope = config.Rope with { AttentionFactor = mscale } }, device);
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int experts = c.RequiredIntField("num_local_experts");
        string p = prefix + "block_sparse_moe.";
        var moe = new RoutedMoeBlock(
            new SparseMixerRouter(w.Linear(p + "gate", experts, c.HiddenSize), c.DoubleField("router_jitter_noise") ?? 0.01,
                c.IntField("num_experts_per_tok") ?? 2),
            w.Experts(p + "experts.", experts, c.IntermediateSize, c.HiddenSize, ("w1", "w3", "w2"), Activations.Get(c.HiddenAct)));
        return new DecoderLayer(LayerNormAt(w, prefix + "input_layernorm", c.HiddenSize, c.RmsNormEps),
            LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias),
            LayerNormAt(w, prefix + "post_attention_layernorm", c.HiddenSize, c.RmsNormEps), moe);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, Config.RmsNormEps);
}
