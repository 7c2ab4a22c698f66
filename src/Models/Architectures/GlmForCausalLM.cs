using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// GLM (GLM-4-9B's first release): Llama's block with q/k/v biases (attention_bias, none on o_proj), gate/up stored
/// packed as `mlp.gate_up_proj` (gate rows first), and GPT-J-style rotary (adjacent pairs) over the first
/// partial_rotary_factor of each head.
/// </summary>
public class GlmForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    static readonly PackedModules GlmPacked = new(new Dictionary<string, string[]>
    {
        ["qkv_proj"] = ["q_proj", "k_proj", "v_proj"],
        ["gate_up_proj"] = ["gate_up_proj"],
    });

    protected override PackedModules Packed => GlmPacked;

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => new(config, device, interleaved: true);

    protected SelfAttention GlmAttention(int index, string prefix, ModelWeights w) =>
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: false);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) =>
        LlamaLayer(prefix, w, GlmAttention(index, prefix, w), LlamaMlp(prefix, w, Config.HiddenAct));
}
