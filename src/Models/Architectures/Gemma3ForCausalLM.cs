using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Gemma 3 (text): Gemma 2's block (sandwich (1 + w) norms, query_pre_attn_scalar, optional soft-caps, GELU-tanh
/// MLP, sqrt(hidden) embedding scale) plus a (1 + w) RMSNorm over each head of q and k, sliding-window layers every
/// layer but each sliding_window_pattern-th (config.layer_types when given), and a separate rotary for the sliding
/// layers: transformers 5's rope_parameters["sliding_attention"], or 4.x's default rope at rope_local_base_freq.
/// </summary>
public sealed class Gemma3ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : Gemma2ForCausalLM(config, weights, dtype, device)
{
    protected override bool SlidesByDefault(int index) => (index + 1) % (Config.IntField("sliding_window_pattern") ?? 6) != 0;

    protected override bool QkNorm => true;

    protected override RopeConfig? SlidingRope() =>
        Config.SlidingRope ?? new RopeConfig { Theta = Config.DoubleField("rope_local_base_freq") ?? 10000.0 };
}
