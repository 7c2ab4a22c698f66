using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// GPT-NeoX's config values beyond the common ones. Older configs (Pythia) give the rotated fraction as rotary_pct
/// and the base as rotary_emb_base rather than in rope_parameters; transformers reads either.
/// </summary>
sealed record GptNeoXOptions(double LayerNormEps, bool ParallelResidual, bool AttentionBias, double RotaryPct, double? RotaryBase)
{
    public static GptNeoXOptions From(ModelConfig c) => new(
        c.DoubleField("layer_norm_eps") ?? 1e-5,
        c.BoolField("use_parallel_residual") ?? true,
        c.BoolField("attention_bias") ?? true,
        (c.Field("rope_parameters")?["partial_rotary_factor"] ?? c.Field("partial_rotary_factor")) is not null
            ? c.Rope.PartialRotaryFactor : c.DoubleField("rotary_pct") ?? 1.0,
        c.Field("rope_parameters") is null && c.Field("rope_theta") is null ? c.DoubleField("rotary_emb_base") : null);
}

/// <summary>
/// GPT-NeoX (Pythia, GPT-NeoX-20B): LayerNorms with bias, one fused query_key_value stored per head
/// ([heads, 3, head_dim], reordered at load), NeoX rotary over rotary_pct of each head, dense_h_to_4h → GELU →
/// dense_4h_to_h, and either the parallel residual x + attn(ln1(x)) + mlp(ln2(x)) or the sequential block
/// (use_parallel_residual). The untied head is embed_out.
/// </summary>
public sealed class GPTNeoXForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, Weights)
{
    static readonly WeightNames Weights = new("gpt_neox.embed_in.weight", "gpt_neox.layers.{0}.", "gpt_neox.final_layer_norm.weight", "embed_out.weight");

    readonly GptNeoXOptions _options = GptNeoXOptions.From(config);

    protected override RotaryEmbedding CreateRotary(ModelConfig config, Device device)
    {
        var o = GptNeoXOptions.From(config);
        var c = o.RotaryBase is double theta ? config with { Rope = config.Rope with { Theta = theta } } : config;
        return new(c, device, rotaryDim: (int)(config.HeadDim * o.RotaryPct));
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int nh = c.NumAttentionHeads, hd = c.HeadDim, h = c.HiddenSize;
        var attention = new SelfAttention(
            w.QkvGroupedByKvHead(prefix + "attention.query_key_value", nh, nh, hd, h, _options.AttentionBias),
            w.Linear(prefix + "attention.dense", h, nh * hd, _options.AttentionBias),
            new Layers.Attention(index, nh, nh, hd, 1.0 / Math.Sqrt(hd)));
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.dense_h_to_4h", c.IntermediateSize, h, bias: true),
            w.Linear(prefix + "mlp.dense_4h_to_h", h, c.IntermediateSize, bias: true),
            Activations.Get(c.StringField("hidden_act") ?? "gelu"));
        var inputNorm = LayerNormAt(w, prefix + "input_layernorm", h, _options.LayerNormEps);
        var postNorm = LayerNormAt(w, prefix + "post_attention_layernorm", h, _options.LayerNormEps);
        return _options.ParallelResidual
            ? new ParallelDecoderLayer(inputNorm, attention, postNorm, mlp)
            : new DecoderLayer(inputNorm, attention, postNorm, mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);
}
