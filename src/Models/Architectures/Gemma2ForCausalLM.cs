using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Gemma 2: Gemma's (1 + w) RMSNorms, sqrt(hidden) embedding scale and GELU-tanh MLP, with a norm before and after
/// each branch (input/post_attention, pre/post_feedforward), attention scaled by query_pre_attn_scalar^-0.5, attention
/// scores and final logits soft-capped (cap · tanh(x / cap)), and sliding-window layers alternating with global
/// ones (config.layer_types; without it the even layers slide, as transformers' default).
/// </summary>
public sealed class Gemma2ForCausalLM : DecoderForCausalLM
{
    readonly Tensor _normalizer;
    readonly double? _finalSoftcap;

    public Gemma2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device) : base(config, weights, dtype, device)
    {
        _normalizer = torch.tensor((float)Math.Sqrt(config.HiddenSize)).to(dtype, device);
        _finalSoftcap = config.DoubleField("final_logit_softcapping");
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize;
        bool sliding = c.Field("layer_types") is not null ? c.SlidingLayers[index] : index % 2 == 0;
        var attention = LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias,
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
        if (_finalSoftcap is not double cap) return logits;
        logits.div_(Scalars.Of(cap)).tanh_().mul_(Scalars.Of(cap));
        return logits;
    }

    public override void Dispose()
    {
        base.Dispose();
        _normalizer.Dispose();
    }
}
