using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Qwen3-MoE: Qwen3's attention (per-head q/k RMSNorm, bias from attention_bias) with a sparse MoE on the layers
/// decoder_sparse_step selects and mlp_only_layers leaves out; router softmax top-k, renormalised with norm_topk_prob;
/// no shared expert.
/// </summary>
public sealed class Qwen3MoeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var attention = LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias, qkNorm: true);
        if (!MoeLayers.IsSparse(c, index)) return LlamaLayer(prefix, w, attention, LlamaMlp(prefix, w, c.HiddenAct));
        var block = new SparseMoeBlock(
            w.Linear(prefix + "mlp.gate", MoeLayers.NumExperts(c) ?? c.RequiredIntField("num_experts"), c.HiddenSize),
            MoeLayers.QwenExperts(c, prefix, w),
            topK: c.IntField("num_experts_per_tok") ?? 8, renormalize: c.BoolField("norm_topk_prob") ?? false);
        return LlamaLayer(prefix, w, attention, block);
    }
}
