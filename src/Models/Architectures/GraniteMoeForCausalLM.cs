using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// GraniteMoE: Granite's multipliers with experts in place of the MLP. The checkpoint keeps the experts fused:
/// `block_sparse_moe.input_linear` [E, 2 x I, H] (gate rows first, as FusedMoe's w13) and `output_linear` [E, H, I];
/// the router `block_sparse_moe.router.layer` takes top-k logits and a softmax over them.
/// </summary>
public class GraniteMoeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : GraniteForCausalLM(config, weights, dtype, device)
{
    protected override IFeedForward FeedForward(string prefix, ModelWeights w)
    {
        var c = Config;
        int experts = c.RequiredIntField("num_local_experts");
        string p = prefix + "block_sparse_moe.";
        return new RoutedMoeBlock(
            new SoftmaxTopKRouter(w.Linear(p + "router.layer", experts, c.HiddenSize), c.RequiredIntField("num_experts_per_tok")),
            new FusedMoe(w.Load(p + "input_linear.weight", [experts, 2L * c.IntermediateSize, c.HiddenSize]),
                w.Load(p + "output_linear.weight", [experts, c.HiddenSize, c.IntermediateSize]), Activations.Get(c.HiddenAct)),
            SharedMlp(prefix, w));
    }

    /// <summary>The MLP every token also goes through (GraniteMoeShared); none here.</summary>
    protected virtual IFeedForward? SharedMlp(string prefix, ModelWeights w) => null;
}
