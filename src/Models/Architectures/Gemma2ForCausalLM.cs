using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Gemma 2: Gemma's (1 + w) RMSNorms, sqrt(hidden) embedding scale and GELU-tanh MLP, with a norm before and after
/// each branch (input/post_attention, pre/post_feedforward), attention scaled by query_pre_attn_scalar^-0.5, attention
/// scores and final logits soft-capped (cap · tanh(x / cap)), and sliding-window layers alternating with global
/// ones (config.layer_types; without it the even layers slide, as transformers' default).
/// </summary>
public class Gemma2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : GemmaForCausalLM(config, weights, dtype, device)
{
    readonly double? _finalSoftcap = config.DoubleField("final_logit_softcapping");

    /// <summary>Whether layer <paramref name="index"/> slides when config.json has no layer_types.</summary>
    protected virtual bool SlidesByDefault(int index) => index % 2 == 0;

    /// <summary>Gemma 3 adds a (1 + w) RMSNorm over each head of q and k.</summary>
    protected virtual bool QkNorm => false;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize;
        bool sliding = c.Field("layer_types") is not null ? c.SlidingLayers[index] : SlidesByDefault(index);
        var attention = LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias, qkNorm: QkNorm,
            scale: 1.0 / Math.Sqrt(c.DoubleField("query_pre_attn_scalar") ?? c.HeadDim),
            softcap: c.DoubleField("attn_logit_softcapping"), sliding: sliding);
        return new SandwichDecoderLayer(
            Norm(w, prefix + "input_layernorm.weight", h), attention, Norm(w, prefix + "post_attention_layernorm.weight", h),
            Norm(w, prefix + "pre_feedforward_layernorm.weight", h), LlamaMlp(prefix, w, Activation),
            Norm(w, prefix + "post_feedforward_layernorm.weight", h));
    }

    public override Tensor ComputeLogits(Tensor hidden)
    {
        var logits = base.ComputeLogits(hidden);
        if (_finalSoftcap is double cap) logits.div_(Scalars.Of(cap)).tanh_().mul_(Scalars.Of(cap));
        return logits;
    }
}
