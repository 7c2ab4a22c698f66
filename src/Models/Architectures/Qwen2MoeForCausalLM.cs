using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Qwen2-MoE: Qwen2's attention (q/k/v bias unless config.qkv_bias is false) with a sparse MoE on the layers
/// decoder_sparse_step selects and mlp_only_layers leaves out: router softmax top-k (renormalised only with
/// norm_topk_prob), moe_intermediate_size experts, plus a shared expert scaled by sigmoid(shared_expert_gate(x)).
/// </summary>
public sealed class Qwen2MoeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        bool bias = c.BoolField("qkv_bias") ?? true;
        var attention = LlamaAttention(index, prefix, w, qkvBias: bias, oBias: false);
        if (!MoeLayers.IsSparse(c, index)) return LlamaLayer(prefix, w, attention, LlamaMlp(prefix, w, c.HiddenAct));
        int shared = c.IntField("shared_expert_intermediate_size") ?? 0;
        var block = new SparseMoeBlock(
            w.Linear(prefix + "mlp.gate", MoeLayers.NumExperts(c) ?? c.RequiredIntField("num_experts"), c.HiddenSize),
            MoeLayers.QwenExperts(c, prefix, w),
            topK: c.IntField("num_experts_per_tok") ?? 4, renormalize: c.BoolField("norm_topk_prob") ?? false,
            sharedExpert: shared > 0 ? LlamaMlp(prefix, w, c.HiddenAct, intermediateSize: shared, module: "mlp.shared_expert.") : null,
            sharedExpertGate: shared > 0 ? w.Linear(prefix + "mlp.shared_expert_gate", 1, c.HiddenSize) : null);
        return LlamaLayer(prefix, w, attention, block);
    }
}

/// <summary>What the Qwen MoE families share: which layers are sparse, and their experts' weights.</summary>
static class MoeLayers
{
    /// <summary>transformers' rule: not in mlp_only_layers, num_experts > 0 and (index + 1) % decoder_sparse_step == 0.</summary>
    /// <summary>num_experts; transformers 5 saves Qwen3-MoE's under its attribute-map name num_local_experts.</summary>
    public static int? NumExperts(ModelConfig c) => c.IntField("num_experts") ?? c.IntField("num_local_experts");

    public static bool IsSparse(ModelConfig c, int index) =>
        !c.IntListField("mlp_only_layers").Contains(index) && (NumExperts(c) ?? 0) > 0
        && (index + 1) % Math.Max(1, c.IntField("decoder_sparse_step") ?? 1) == 0;

    /// <summary>`mlp.experts.` with moe_intermediate_size: fused (transformers 5) or `{e}.gate_proj/up_proj/down_proj`.</summary>
    public static FusedMoe QwenExperts(ModelConfig c, string prefix, ModelWeights w) =>
        w.Experts(prefix + "mlp.experts.", NumExperts(c) ?? c.RequiredIntField("num_experts"), c.RequiredIntField("moe_intermediate_size"), c.HiddenSize,
            ("gate_proj", "up_proj", "down_proj"), Activations.Get(c.HiddenAct));
}
