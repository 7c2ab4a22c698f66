using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// SmolLM3: Llama with NoPE layers. config.no_rope_layers[i] is 1 where layer i rotates q and k and 0 where it does
/// not (by default every no_rope_layer_interval-th layer, 4, has no rotary); sliding windows only with
/// use_sliding_window, on the layers layer_types names.
/// </summary>
public sealed class SmolLM3ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override bool UsesRope(int index)
    {
        var flags = Config.IntListField("no_rope_layers");
        return flags.Length > index ? flags[index] != 0 : (index + 1) % (Config.IntField("no_rope_layer_interval") ?? 4) != 0;
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias),
        LlamaMlp(prefix, w, Config.HiddenAct, Config.MlpBias));
}
