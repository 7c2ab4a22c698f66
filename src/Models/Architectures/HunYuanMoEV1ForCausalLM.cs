using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// HunYuan MoE (V1): HunYuan dense's attention (q/k RMSNorm per head after rotary, NTK-alpha rotary) with experts on
/// every layer: the float32 router `mlp.gate.wg` (softmax, top moe_topk, renormalised), experts of intermediate_size
/// under `mlp.experts.`, and a shared MLP `mlp.shared_mlp` of intermediate_size x num_shared_expert added to them.
/// num_experts and moe_topk may be given per layer.
/// </summary>
public sealed class HunYuanMoEV1ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : HunYuanDenseV1ForCausalLM(config, weights, dtype, device)
{
    protected override IFeedForward FeedForward(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int experts = PerLayer(c, "num_experts", index), topK = PerLayer(c, "moe_topk", index);
        int shared = c.IntField("num_shared_expert") ?? 1;
        string p = prefix + "mlp.";
        var gate = new Linear(w.Source.Load(p + "gate.wg.weight", [experts, c.HiddenSize], ScalarType.Float32, w.Device, WeightInit.Normal), null);
        return new RoutedMoeBlock(
            new SoftmaxTopKRouter(gate, topK),
            w.Experts(p + "experts.", experts, c.IntermediateSize, c.HiddenSize, ("gate_proj", "up_proj", "down_proj"), Activations.Get(c.HiddenAct)),
            shared > 0 ? LlamaMlp(prefix, w, c.HiddenAct, intermediateSize: c.IntermediateSize * shared, module: "mlp.shared_mlp.") : null);
    }

    /// <summary>An integer field given once or as a list with one value per layer.</summary>
    static int PerLayer(ModelConfig c, string key, int index) =>
        c.IntField(key) ?? (c.IntListField(key) is { Length: > 0 } list && index < list.Length ? list[index]
            : throw new ModelConfigException($"config field '{key}' is required (an integer or one per layer)"));
}
