using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Falcon's config values, from transformers' FalconConfig or the older remote-code RWConfig (RWForCausalLM:
/// n_head_kv, and the new decoder architecture implied by model_type RefinedWeb, or by Falcon-40B's hidden size of
/// 8192 as vLLM recognises it).
/// Without the new architecture, multi_query means one KV head.
/// </summary>
sealed record FalconOptions(bool NewDecoderArchitecture, bool ParallelAttn, int NumKvHeads, int NumLnInParallelAttn, bool Bias,
    double LayerNormEps, string Activation, int FfnHiddenSize)
{
    public static FalconOptions From(ModelConfig c)
    {
        if (c.BoolField("alibi") == true)
            throw new ModelConfigException($"{c.Architecture} with alibi=true (Falcon-RW) is not supported yet; rotary Falcon models are");
        bool newArch = c.BoolField("new_decoder_architecture") ?? (c.ModelType == "RefinedWeb" || c.HiddenSize == 8192);
        bool multiQuery = c.BoolField("multi_query") ?? true;
        int kv = newArch || !multiQuery ? c.IntField("num_kv_heads") ?? c.IntField("n_head_kv") ?? c.NumAttentionHeads : 1;
        return new(newArch, c.BoolField("parallel_attn") ?? true, kv, c.IntField("num_ln_in_parallel_attn") ?? (newArch ? 2 : 1),
            c.BoolField("bias") ?? false, c.DoubleField("layer_norm_epsilon") ?? 1e-5, c.StringField("activation") ?? "gelu",
            c.IntField("ffn_hidden_size") ?? 4 * c.HiddenSize);
    }
}

/// <summary>
/// Falcon (7B/40B/180B, and RWForCausalLM checkpoints): LayerNorms with bias, one fused query_key_value stored
/// grouped by KV head (multi-query [heads + 2], grouped [kv, heads/kv + 2] or per head [heads, 3], reordered at
/// load), NeoX rotary, dense_h_to_4h → GELU → dense_4h_to_h, biases per config.bias. The block is parallel
/// (x + attn(ln(x)) + mlp(ln(x))) on input_layernorm, or on ln_attn and ln_mlp for the new decoder architecture
/// with two norms; otherwise sequential with post_attention_layernorm. The head is tied unless config.json says not.
/// </summary>
public sealed class FalconForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config.TiedUnlessSaid(), weights, dtype, device, Weights)
{
    static readonly WeightNames Weights = new("transformer.word_embeddings.weight", "transformer.h.{0}.", "transformer.ln_f.weight", "lm_head.weight");

    readonly FalconOptions _options = FalconOptions.From(config);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var o = _options;
        int nh = c.NumAttentionHeads, hd = c.HiddenSize / nh, h = c.HiddenSize;
        var attention = new SelfAttention(
            w.QkvGroupedByKvHead(prefix + "self_attention.query_key_value", nh, o.NumKvHeads, hd, h, o.Bias),
            w.Linear(prefix + "self_attention.dense", h, nh * hd, o.Bias),
            new Layers.Attention(index, nh, o.NumKvHeads, hd, 1.0 / Math.Sqrt(hd)));
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.dense_h_to_4h", o.FfnHiddenSize, h, o.Bias),
            w.Linear(prefix + "mlp.dense_4h_to_h", h, o.FfnHiddenSize, o.Bias),
            Activations.Get(o.Activation));
        LayerNorm Ln(string name) => LayerNormAt(w, prefix + name, h, o.LayerNormEps);
        if (o.NewDecoderArchitecture && o.NumLnInParallelAttn == 2)
            return new ParallelDecoderLayer(Ln("ln_attn"), attention, Ln("ln_mlp"), mlp);
        if (o.NewDecoderArchitecture || o.ParallelAttn)
            return new ParallelDecoderLayer(Ln("input_layernorm"), attention, null, mlp);
        return new DecoderLayer(Ln("input_layernorm"), attention, Ln("post_attention_layernorm"), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);
}
