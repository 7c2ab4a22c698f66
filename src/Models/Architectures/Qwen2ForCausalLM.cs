using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Qwen2: Llama with a bias on q/k/v and none on o_proj.</summary>
public sealed class Qwen2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: true, oBias: false),
        LlamaMlp(prefix, w, Config.HiddenAct));
}
