using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>MPT's config.json fields (attn_config among them) the model reads once.</summary>
public sealed record MptOptions(bool Bias, double LayerNormEps, double? SoftmaxScale, double AlibiBiasMax, double? ClipQkv)
{
    public static MptOptions From(ModelConfig c)
    {
        var attn = c.Field("attn_config") as JsonObject ?? [];
        double? Number(string key) => attn[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
        if (attn["alibi"] is JsonValue alibi && !alibi.GetValue<bool>())
            throw new ModelConfigException("MPT without ALiBi (attn_config.alibi=false) is not supported");
        if (attn["qk_ln"] is JsonValue qkLn && qkLn.GetValue<bool>()) throw new ModelConfigException("MPT with attn_config.qk_ln is not supported");
        return new(!(c.BoolField("no_bias") ?? true), c.DoubleField("layer_norm_epsilon") ?? 1e-5, Number("softmax_scale"), Number("alibi_bias_max") ?? 8,
            Number("clip_qkv"));
    }
}

/// <summary>
/// MPT: ALiBi positions with MPT's slopes (alibi_bias_max), pre-norm blocks (norm_1, norm_2, norm_f) whose LayerNorms
/// and projections carry no bias when no_bias, a fused Wqkv [q, k, v], and an up_proj → GELU → down_proj MLP four
/// times as wide as the model (transformers' MptMLP). attn_config.clip_qkv clamps q/k/v, as MPT's own code and vLLM do.
/// </summary>
public sealed class MptForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config.TiedUnlessSaid(), weights, dtype, device, MptNames)
{
    static readonly WeightNames MptNames = new("transformer.wte.weight", "transformer.blocks.{0}.", "transformer.norm_f.weight", "lm_head.weight");
    static readonly PackedModules FusedQkv = new(new Dictionary<string, string[]> { ["Wqkv"] = ["Wqkv"] });

    readonly MptOptions _options = MptOptions.From(config);

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    LayerNorm MptNorm(ModelWeights w, string prefix, long size) => new(w.Load(prefix + ".weight", [size], WeightInit.Ones),
        _options.Bias ? w.Load(prefix + ".bias", [size], WeightInit.Zeros) : null, _options.LayerNormEps);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize, nh = c.NumAttentionHeads, hd = c.HeadDim;
        bool bias = _options.Bias;
        var attention = new SelfAttention(
            w.Packed(prefix + "attn.", FusedQkv, "Wqkv", [h, h, h], h, bias),
            w.Linear(prefix + "attn.out_proj", h, h, bias),
            new Layers.Attention(index, nh, nh, hd, _options.SoftmaxScale ?? 1.0 / Math.Sqrt(hd),
                alibiSlopes: AlibiSlopes.Mpt(nh, _options.AlibiBiasMax)),
            clipQkv: _options.ClipQkv);
        var mlp = new Mlp(w.Linear(prefix + "ffn.up_proj", 4 * h, h, bias), w.Linear(prefix + "ffn.down_proj", h, 4 * h, bias),
            Activations.Get("gelu"));
        return new DecoderLayer(MptNorm(w, prefix + "norm_1", h), attention, MptNorm(w, prefix + "norm_2", h), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) => MptNorm(w, name[..^".weight".Length], size);
}
