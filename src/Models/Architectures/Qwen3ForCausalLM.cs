using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Qwen3: Llama with an RMSNorm over each head of q and k before rotary.</summary>
public sealed class Qwen3ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias, qkNorm: true),
        LlamaMlp(prefix, w, Config.HiddenAct));
}
