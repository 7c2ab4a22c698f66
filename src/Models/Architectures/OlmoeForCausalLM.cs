using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// OLMoE: Llama's pre-norm blocks with an RMSNorm over the whole q and k projections (all heads at once, as OLMo 2)
/// and a sparse MoE on every layer: router `mlp.gate` softmax top-k (renormalised with norm_topk_prob),
/// intermediate_size experts under `mlp.experts.` (fused, or `{e}.gate_proj/up_proj/down_proj`).
/// </summary>
public sealed class OlmoeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        if (c.DoubleField("clip_qkv") is double clip)
            throw new ModelConfigException($"OLMoE with clip_qkv ({clip}) is not supported");
        int experts = c.IntField("num_experts") ?? 64;
        var attention = LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias, qkNorm: true, qkNormAcrossHeads: true);
        var block = new SparseMoeBlock(
            w.Linear(prefix + "mlp.gate", experts, c.HiddenSize),
            w.Experts(prefix + "mlp.experts.", experts, c.IntermediateSize, c.HiddenSize, ("gate_proj", "up_proj", "down_proj"), Activations.Get(c.HiddenAct)),
            topK: c.IntField("num_experts_per_tok") ?? 8, renormalize: c.BoolField("norm_topk_prob") ?? false);
        return LlamaLayer(prefix, w, attention, block);
    }
}
