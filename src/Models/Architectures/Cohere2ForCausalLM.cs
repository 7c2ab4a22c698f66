using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Cohere 2 (Command R7B, Command A): Cohere's block with sliding-window layers that rotate q and k and global layers
/// without positions (NoPE), by config.layer_types (or every sliding_window_pattern-th layer global, 4 by default).
/// </summary>
public sealed class Cohere2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : CohereForCausalLM(config, weights, dtype, device)
{
    protected override bool Sliding(int index) => Config.Field("layer_types") is not null
        ? Config.SlidingLayers[index]
        : (index + 1) % (Config.IntField("sliding_window_pattern") ?? 4) != 0;

    protected override bool UsesRope(int index) => Sliding(index);
}
