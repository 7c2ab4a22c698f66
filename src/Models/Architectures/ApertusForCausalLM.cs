using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Apertus: Llama's attention with an RMSNorm over each head of q and k before rotary, pre-norms named
/// attention_layernorm / feedforward_layernorm, and an ungated MLP down(xIELU(up(x))) whose xIELU has learned
/// parameters per layer (mlp.act_fn.alpha_p, alpha_n, beta, eps).
/// </summary>
public sealed class ApertusForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize;
        var actName = c.StringField("hidden_act") ?? "xielu";
        var act = actName == "xielu" ? Xielu(w, prefix + "mlp.act_fn.") : Activations.Get(actName);
        var mlp = new Mlp(w.Linear(prefix + "mlp.up_proj", c.IntermediateSize, h), w.Linear(prefix + "mlp.down_proj", h, c.IntermediateSize), act);
        return new DecoderLayer(Norm(w, prefix + "attention_layernorm.weight", h),
            LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias, qkNorm: true),
            Norm(w, prefix + "feedforward_layernorm.weight", h), mlp);
    }

    /// <summary>
    /// transformers' XIELUActivation: x &gt; 0 → ap·x² + β·x, else (expm1(min(x, eps)) − x)·an + β·x, with
    /// ap = softplus(alpha_p) and an = β + softplus(alpha_n), computed once in float32 as transformers does.
    /// </summary>
    static Func<Tensor, Tensor> Xielu(ModelWeights w, string p)
    {
        float ap, an, beta, eps;
        using (var scope = NewDisposeScope())
        {
            var b = w.Load(p + "beta", []).to_type(ScalarType.Float32);
            ap = nn.functional.softplus(w.Load(p + "alpha_p", [1]).to_type(ScalarType.Float32)).item<float>();
            an = (b + nn.functional.softplus(w.Load(p + "alpha_n", [1]).to_type(ScalarType.Float32))).item<float>();
            beta = b.item<float>();
            eps = w.Load(p + "eps", []).to_type(ScalarType.Float32).item<float>();
        }
        return x =>
        {
            using var scope = NewDisposeScope();
            var bx = x * Scalars.Of(beta);
            var pos = x * Scalars.Of(ap) * x + bx;
            var neg = (torch.expm1(torch.clamp_max(x, Scalars.Of(eps))) - x) * Scalars.Of(an) + bx;
            return torch.where(x.gt(Scalars.Of(0)), pos, neg).MoveToOuterDisposeScope();
        };
    }
}
