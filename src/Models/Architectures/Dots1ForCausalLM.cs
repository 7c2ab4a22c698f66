using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// dots.llm1: Qwen3's attention (per-head q/k RMSNorm, GQA, rotate-half rotary) with DeepSeek-V3's mixture of
/// experts: dense layers before first_k_dense_replace, then a sigmoid router with correction bias and grouped top-k,
/// and shared experts.
/// </summary>
public sealed class Dots1ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DeepseekV2ForCausalLM(config, weights, dtype, device)
{
    protected override DeepseekMoeOptions MoeOptions(ModelConfig c) => DeepseekMoeOptions.From(c, defaultScoring: "sigmoid", defaultTopkMethod: "noaux_tc");

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => new(config, device);

    protected override ISelfAttention SelfAttention(int index, string prefix, ModelWeights w) =>
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias, qkNorm: true);
}
