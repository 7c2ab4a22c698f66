using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// PhiMoE (Phi-3.5-MoE): Mixtral's block with LayerNorms (weight and bias, eps rms_norm_eps) in place of RMSNorm,
/// attention_bias on q/k/v/o, a bias on the lm_head when lm_head_bias, and experts `block_sparse_moe.experts.{e}.w1/w3/w2`
/// routed by sparsemixer (top-2 within router_jitter_noise's band of each maximum).
/// </summary>
public sealed class PhiMoEForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override bool LmHeadBias => Config.BoolField("lm_head_bias") ?? false;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int experts = c.RequiredIntField("num_local_experts");
        string p = prefix + "block_sparse_moe.";
        var moe = new RoutedMoeBlock(
            new SparseMixerRouter(w.Linear(p + "gate", experts, c.HiddenSize), c.DoubleField("router_jitter_noise") ?? 0.01,
                c.IntField("num_experts_per_tok") ?? 2),
            w.Experts(p + "experts.", experts, c.IntermediateSize, c.HiddenSize, ("w1", "w3", "w2"), Activations.Get(c.HiddenAct)));
        return new DecoderLayer(LayerNormAt(w, prefix + "input_layernorm", c.HiddenSize, c.RmsNormEps),
            LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias),
            LayerNormAt(w, prefix + "post_attention_layernorm", c.HiddenSize, c.RmsNormEps), moe);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, Config.RmsNormEps);
}
