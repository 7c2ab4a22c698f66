using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// EXAONE 4: OLMo 2's block (RMSNorm after each branch, before its residual add, no input norm) with an RMSNorm over
/// each head of q and k before rotary. Sliding-window layers rotate q and k; the global layers use no positions
/// (NoPE), unless the config has no sliding window, when every layer rotates. Which layers slide: config.layer_types,
/// else every sliding_window_pattern-th layer is global.
/// </summary>
public sealed class Exaone4ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    bool Sliding(int index)
    {
        if (Config.SlidingWindow is null) return false;
        if (Config.Field("layer_types") is not null) return Config.SlidingLayers[index];
        return Config.IntField("sliding_window_pattern") is int p && p > 0 ? (index + 1) % p != 0
            : Config.StringField("sliding_window_pattern") is { Length: > 0 } s ? s[index % s.Length] == 'L' : true;
    }

    protected override bool UsesRope(int index) => Config.SlidingWindow is null || Sliding(index);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        int h = Config.HiddenSize;
        var attention = LlamaAttention(index, prefix, w, qkvBias: false, oBias: false, qkNorm: true, sliding: Sliding(index));
        return new SandwichDecoderLayer(null, attention, Norm(w, prefix + "post_attention_layernorm.weight", h),
            null, LlamaMlp(prefix, w, Config.HiddenAct), Norm(w, prefix + "post_feedforward_layernorm.weight", h));
    }
}
