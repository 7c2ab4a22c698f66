using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Mixtral: Mistral's attention with a sparse MoE in place of the MLP: router softmax, top num_experts_per_tok of
/// num_local_experts, renormalised. Weights as transformers 5 keeps them (`mlp.gate`, `mlp.experts.gate_up_proj` /
/// `down_proj`) or as the original checkpoints do (`block_sparse_moe.gate`, `block_sparse_moe.experts.{e}.w1/w3/w2`).
/// </summary>
public sealed class MixtralForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int experts = c.IntField("num_local_experts") ?? 8;
        bool legacy = !w.Source.Contains(prefix + "mlp.gate.weight") && w.Source.Contains(prefix + "block_sparse_moe.gate.weight");
        string moe = prefix + (legacy ? "block_sparse_moe." : "mlp.");
        var block = new SparseMoeBlock(
            w.Linear(moe + "gate", experts, c.HiddenSize),
            w.Experts(moe + "experts.", experts, c.IntermediateSize, c.HiddenSize, ("w1", "w3", "w2"), Activations.Get(c.HiddenAct)),
            topK: c.IntField("num_experts_per_tok") ?? 2, renormalize: true);
        return LlamaLayer(prefix, w, LlamaAttention(index, prefix, w, qkvBias: false, oBias: false), block);
    }
}
