using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Cohere's config values beyond the common ones.</summary>
sealed record CohereOptions(double LayerNormEps, double LogitScale, bool QkNorm)
{
    public static CohereOptions From(ModelConfig c) => new(c.DoubleField("layer_norm_eps") ?? 1e-5, c.DoubleField("logit_scale") ?? 0.0625,
        c.BoolField("use_qk_norm") ?? false);

    /// <summary>The head is always the embeddings (vLLM ties it whatever config.json says; checkpoints store no lm_head).</summary>
    public static ModelConfig Tied(ModelConfig c) => c with { TieWordEmbeddings = true };
}

/// <summary>
/// Cohere (Command R, R+, Aya): attention and a gated SiLU MLP in parallel on one bias-free LayerNorm
/// (input_layernorm), GPT-J (interleaved) rotary, optional bias-free LayerNorms per head of q and k (use_qk_norm,
/// weights [heads, head_dim]), a bias-free final LayerNorm, and logits from the tied embeddings times logit_scale.
/// </summary>
public class CohereForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(CohereOptions.Tied(config), weights, dtype, device)
{
    readonly CohereOptions _options = CohereOptions.From(config);

    /// <summary>Whether layer <paramref name="index"/> attends within the sliding window (Cohere 2's local layers).</summary>
    protected virtual bool Sliding(int index) => false;

    protected override RotaryEmbedding CreateRotary(ModelConfig config, Device device) => new(config, device, interleaved: true);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var o = _options;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim, h = c.HiddenSize;
        string p = prefix + "self_attn.";
        var attention = new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], h, c.AttentionBias),
            w.Linear(p + "o_proj", h, nh * hd, c.AttentionBias),
            new Layers.Attention(index, nh, kv, hd, 1.0 / Math.Sqrt(hd), Sliding(index) ? c.SlidingWindow : null),
            o.QkNorm ? new PerHeadLayerNorm(w.Load(p + "q_norm.weight", [nh, hd], WeightInit.Ones), null, o.LayerNormEps) : null,
            o.QkNorm ? new PerHeadLayerNorm(w.Load(p + "k_norm.weight", [kv, hd], WeightInit.Ones), null, o.LayerNormEps) : null);
        return new ParallelDecoderLayer(BiasFreeLayerNorm(w, prefix + "input_layernorm.weight", h), attention, null,
            LlamaMlp(prefix, w, c.HiddenAct));
    }

    LayerNorm BiasFreeLayerNorm(ModelWeights w, string name, long size) => new(w.Load(name, [size], WeightInit.Ones), null, _options.LayerNormEps);

    protected override INorm FinalNorm(ModelWeights w, string name, long size) => BiasFreeLayerNorm(w, name, size);

    public override Tensor ComputeLogits(Tensor hidden)
    {
        var logits = base.ComputeLogits(hidden);
        if (_options.LogitScale != 1.0) logits.mul_(Scalars.Of(_options.LogitScale));
        return logits;
    }
}
