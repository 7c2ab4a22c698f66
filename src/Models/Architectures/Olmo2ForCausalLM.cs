using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// OLMo 2: Llama's attention and MLP with the norms moved after each branch (x + post_attention_layernorm(attn(x)),
/// then x + post_feedforward_layernorm(mlp(x)), no input norm) and an RMSNorm over the whole q and k projections
/// (all heads at once) before rotary.
/// </summary>
public sealed class Olmo2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        int h = Config.HiddenSize;
        var attention = LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias,
            qkNorm: true, qkNormAcrossHeads: true);
        return new SandwichDecoderLayer(null, attention, Norm(w, prefix + "post_attention_layernorm.weight", h),
            null, LlamaMlp(prefix, w, Config.HiddenAct), Norm(w, prefix + "post_feedforward_layernorm.weight", h));
    }
}
