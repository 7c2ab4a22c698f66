using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Hunyuan dense (V1): Llama with an RMSNorm over each head of q and k (query_layernorm / key_layernorm, when
/// use_qk_norm) applied after rotary, and attention_bias on q/k/v/o. Dynamic rope with `alpha` is Hunyuan's NTK-alpha
/// rotary: a fixed base theta · alpha^(d / (d - 2)) at every length. HunYuan MoE derives from it with experts in
/// place of the MLP.
/// </summary>
public class HunYuanDenseV1ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override bool RotaryFusable => false;

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device)
    {
        var rope = (config.Field("rope_parameters") ?? config.Field("rope_scaling")) as JsonObject;
        if (config.Rope.RopeType != "dynamic" || rope?["alpha"] is not JsonValue a || !a.TryGetValue<double>(out var alpha) || alpha == 0)
            return new(config, device);
        double d = config.HeadDim;
        return new(config with { Rope = config.Rope with { RopeType = "default", Theta = config.Rope.Theta * Math.Pow(alpha, d / (d - 2)) } }, device);
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim;
        string p = prefix + "self_attn.";
        bool bias = c.AttentionBias, qkNorm = c.BoolField("use_qk_norm") ?? true;
        var attention = new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], c.HiddenSize, bias),
            w.Linear(p + "o_proj", c.HiddenSize, nh * hd, bias),
            new Layers.Attention(index, nh, kv, hd, 1.0 / Math.Sqrt(hd)),
            qkNorm ? Norm(w, p + "query_layernorm.weight", hd) : null,
            qkNorm ? Norm(w, p + "key_layernorm.weight", hd) : null,
            qkNormAfterRope: true);
        return LlamaLayer(prefix, w, attention, FeedForward(index, prefix, w));
    }

    /// <summary>The MLP of each block.</summary>
    protected virtual IFeedForward FeedForward(int index, string prefix, ModelWeights w) => LlamaMlp(prefix, w, Config.HiddenAct);
}
