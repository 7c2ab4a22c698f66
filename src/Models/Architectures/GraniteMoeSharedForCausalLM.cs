using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// GraniteMoeShared: GraniteMoE plus a shared gated MLP of shared_intermediate_size added to the experts' output,
/// stored packed as `shared_mlp.input_linear` [2 x S, H] (gate rows first) and `shared_mlp.output_linear` [H, S].
/// </summary>
public sealed class GraniteMoeSharedForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : GraniteMoeForCausalLM(config, weights, dtype, device)
{
    protected override IFeedForward? SharedMlp(string prefix, ModelWeights w)
    {
        var c = Config;
        int shared = c.IntField("shared_intermediate_size") ?? 0;
        if (shared == 0) return null;
        string p = prefix + "shared_mlp.";
        return new GatedMlp(
            new Linear(w.Load(p + "input_linear.weight", [2L * shared, c.HiddenSize]), null, [shared, shared]),
            w.Linear(p + "output_linear", c.HiddenSize, shared),
            Activations.Get(c.HiddenAct), c.HiddenAct is "silu" or "swish");
    }
}
