using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Llama (and Mistral, which vLLM also runs as Llama): biases from config.attention_bias / mlp_bias.</summary>
public sealed class LlamaForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias),
        LlamaMlp(prefix, w, Config.HiddenAct, Config.MlpBias));
}
