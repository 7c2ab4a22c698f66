using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>StableLM's config values beyond the common ones.</summary>
sealed record StableLmOptions(double LayerNormEps, bool QkvBias, bool QkLayerNorm, bool ParallelResidual)
{
    public static StableLmOptions From(ModelConfig c) => new(c.DoubleField("layer_norm_eps") ?? 1e-5, c.BoolField("use_qkv_bias") ?? false,
        c.BoolField("qk_layernorm") ?? false, c.BoolField("use_parallel_residual") ?? false);
}

/// <summary>
/// StableLM (StableLM 2, StableLM-3B-4E1T, Zephyr): LayerNorms with bias, q/k/v with biases when use_qkv_bias,
/// o_proj without, NeoX rotary over partial_rotary_factor of each head, a gated SiLU MLP, and model.norm.
/// qk_layernorm adds a bias-free LayerNorm per head of q and of k (transformers keeps one module per head:
/// q_layernorm.norms.{h}.weight, stacked here into one [heads, head_dim] weight). use_parallel_residual makes the
/// block x + attn(ln(x)) + mlp(ln(x)) (StableLM 2 12B).
/// </summary>
public sealed class StableLmForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    readonly StableLmOptions _options = StableLmOptions.From(config);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var o = _options;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim, h = c.HiddenSize;
        string p = prefix + "self_attn.";
        var attention = new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], h, o.QkvBias),
            w.Linear(p + "o_proj", h, nh * hd),
            new Layers.Attention(index, nh, kv, hd, 1.0 / Math.Sqrt(hd)),
            o.QkLayerNorm ? HeadNorms(w, p + "q_layernorm", nh, hd) : null,
            o.QkLayerNorm ? HeadNorms(w, p + "k_layernorm", kv, hd) : null);
        var mlp = LlamaMlp(prefix, w, c.HiddenAct);
        var inputNorm = LayerNormAt(w, prefix + "input_layernorm", h, o.LayerNormEps);
        return o.ParallelResidual
            ? new ParallelDecoderLayer(inputNorm, attention, null, mlp)
            : new DecoderLayer(inputNorm, attention, LayerNormAt(w, prefix + "post_attention_layernorm", h, o.LayerNormEps), mlp);
    }

    /// <summary>The per-head norms `{prefix}.norms.{h}.weight` as one [heads, head_dim] weight.</summary>
    PerHeadLayerNorm HeadNorms(ModelWeights w, string prefix, int heads, int headDim)
    {
        var rows = Enumerable.Range(0, heads).Select(i => w.Load($"{prefix}.norms.{i}.weight", [headDim], WeightInit.Ones)).ToArray();
        var weight = torch.stack(rows, 0);
        foreach (var r in rows) r.Dispose();
        return new PerHeadLayerNorm(weight, null, _options.LayerNormEps);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);
}
