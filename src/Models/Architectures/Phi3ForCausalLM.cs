using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Phi-3: Llama's blocks with q/k/v and gate/up stored already packed in the checkpoint (`qkv_proj`, `gate_up_proj`),
/// no biases, and rotary over the first partial_rotary_factor of each head when configured.
/// </summary>
public sealed class Phi3ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override PackedModules Packed => PackedModules.Phi3;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: false, oBias: false),
        LlamaMlp(prefix, w, Config.HiddenAct));
}
