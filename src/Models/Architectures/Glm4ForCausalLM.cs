using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// GLM-4 (0414): GLM with sandwich norms: input_layernorm → attention → post_self_attn_layernorm → residual, then
/// post_attention_layernorm → MLP → post_mlp_layernorm → residual.
/// </summary>
public sealed class Glm4ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : GlmForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        int h = Config.HiddenSize;
        return new SandwichDecoderLayer(
            Norm(w, prefix + "input_layernorm.weight", h), GlmAttention(index, prefix, w),
            Norm(w, prefix + "post_self_attn_layernorm.weight", h),
            Norm(w, prefix + "post_attention_layernorm.weight", h), LlamaMlp(prefix, w, Config.HiddenAct),
            Norm(w, prefix + "post_mlp_layernorm.weight", h));
    }
}
