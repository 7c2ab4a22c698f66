using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Gemma 3 (text): Gemma 2's block (sandwich (1 + w) norms, query_pre_attn_scalar, optional soft-caps, GELU-tanh
/// MLP, sqrt(hidden) embedding scale) plus a (1 + w) RMSNorm over each head of q and k, sliding-window layers every
/// layer but each sliding_window_pattern-th (config.layer_types when given), and a separate rotary for the sliding
/// layers: transformers 5's rope_parameters["sliding_attention"], or 4.x's default rope at rope_local_base_freq.
/// </summary>
public sealed class Gemma3ForCausalLM : DecoderForCausalLM
{
    readonly Tensor _normalizer;
    readonly double? _finalSoftcap;

    public Gemma3ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device) : base(config, weights, dtype, device)
    {
        _normalizer = torch.tensor((float)Math.Sqrt(config.HiddenSize)).to(dtype, device);
        _finalSoftcap = config.DoubleField("final_logit_softcapping");
    }

    protected override RopeConfig? SlidingRope() =>
        Config.SlidingRope ?? new RopeConfig { Theta = Config.DoubleField("rope_local_base_freq") ?? 10000.0 };

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize;
        bool sliding = c.Field("layer_types") is not null ? c.SlidingLayers[index] : (index + 1) % (c.IntField("sliding_window_pattern") ?? 6) != 0;
        var attention = LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias, qkNorm: true,
            scale: 1.0 / Math.Sqrt(c.DoubleField("query_pre_attn_scalar") ?? c.HeadDim),
            softcap: c.DoubleField("attn_logit_softcapping"), sliding: sliding);
        var mlp = LlamaMlp(prefix, w, c.StringField("hidden_activation") ?? c.HiddenAct);
        return new SandwichDecoderLayer(
            Norm(w, prefix + "input_layernorm.weight", h), attention, Norm(w, prefix + "post_attention_layernorm.weight", h),
            Norm(w, prefix + "pre_feedforward_layernorm.weight", h), mlp, Norm(w, prefix + "post_feedforward_layernorm.weight", h));
    }

    protected override RmsNorm Norm(ModelWeights w, string name, long size) => w.RmsNorm(name, size, Config.RmsNormEps, weightOffset: 1.0);

    protected override Tensor ScaleEmbeddings(Tensor embeddings) => embeddings * _normalizer;

    public override Tensor ComputeLogits(Tensor hidden)
    {
        var logits = base.ComputeLogits(hidden);
        if (_finalSoftcap is double cap) logits.div_(Scalars.Of(cap)).tanh_().mul_(Scalars.Of(cap));
        return logits;
    }

    public override void Dispose()
    {
        base.Dispose();
        _normalizer.Dispose();
    }
}
