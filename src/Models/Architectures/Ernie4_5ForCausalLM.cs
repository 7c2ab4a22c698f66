using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// ERNIE 4.5 (dense): Llama's block with GPT-J-style rotary (adjacent pairs, the whole head) and config.use_bias on
/// every projection (q/k/v/o and the MLP). ERNIE 4.5 MoE derives from it with experts in place of some MLPs.
/// </summary>
public class Ernie4_5ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected bool Bias => Config.BoolField("use_bias") ?? false;

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => new(config, device, interleaved: true);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Bias, oBias: Bias),
        FeedForward(index, prefix, w));

    /// <summary>The MLP of each block.</summary>
    protected virtual IFeedForward FeedForward(int index, string prefix, ModelWeights w) => LlamaMlp(prefix, w, Config.HiddenAct, Bias);
}
