using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// ERNIE 4.5 MoE: ERNIE 4.5's block (GPT-J-style rotary, use_bias projections and lm_head bias) with experts on the
/// layers from moe_layer_start_index to moe_layer_end_index, every moe_layer_interval-th. The float32 router `mlp.gate`
/// picks experts by softmax probability plus `mlp.moe_statics.e_score_correction_bias` and weights them by the
/// probability alone, renormalised (DeepSeek's router without groups); moe_num_shared_experts shared experts of
/// moe_intermediate_size each run as one MLP `mlp.shared_experts`.
/// </summary>
public sealed class Ernie4_5_MoeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : Ernie4_5ForCausalLM(config, weights, dtype, device)
{
    protected override bool LmHeadBias => Bias;

    protected override IFeedForward FeedForward(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int start = c.IntField("moe_layer_start_index") ?? 0, end = c.IntField("moe_layer_end_index") ?? -1;
        if (end < 0) end = c.NumHiddenLayers - 1;
        int interval = Math.Max(1, c.IntField("moe_layer_interval") ?? 1);
        if ((index + 1) % interval != 0 || index < start || index > end) return base.FeedForward(index, prefix, w);
        int experts = c.RequiredIntField("moe_num_experts"), inter = c.RequiredIntField("moe_intermediate_size");
        int shared = c.IntField("moe_num_shared_experts") ?? 0;
        string p = prefix + "mlp.";
        // transformers clamps the renormalising sum below by moe_norm_min (1e-12), which a softmax top-k sum never reaches.
        var router = new GroupedTopKRouter(
            new Linear(w.Source.Load(p + "gate.weight", [experts, c.HiddenSize], ScalarType.Float32, w.Device), null),
            c.RequiredIntField("moe_k"), MoeScoring.Softmax, renormalize: true,
            eScoreCorrectionBias: w.Source.Load(p + "moe_statics.e_score_correction_bias", [1, experts], ScalarType.Float32, w.Device, WeightInit.Zeros).view(experts));
        return new RoutedMoeBlock(router,
            w.Experts(p + "experts.", experts, inter, c.HiddenSize, ("gate_proj", "up_proj", "down_proj"), Activations.Get(c.HiddenAct)),
            shared > 0 ? LlamaMlp(prefix, w, c.HiddenAct, Bias, inter * shared, "mlp.shared_experts.") : null);
    }
}
