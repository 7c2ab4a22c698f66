using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Falcon-H1's µP multipliers and mixer options, read once.</summary>
public sealed record FalconH1Options(double Embedding, double LmHead, double AttentionIn, double AttentionOut, double Key,
    double SsmIn, double SsmOut, double[] Ssm, double MlpGate, double MlpDown, bool MambaRmsNorm, bool NormBeforeGate, bool ProjectorsBias)
{
    public static FalconH1Options From(ModelConfig c)
    {
        double[] List(string key, int n)
        {
            var v = c.Field(key) is System.Text.Json.Nodes.JsonArray a ? a.Select(x => x!.GetValue<double>()).ToArray() : Enumerable.Repeat(1.0, n).ToArray();
            return v.Length == n ? v : throw new ModelConfigException($"{key} must hold {n} numbers, got {v.Length}");
        }
        var mlp = List("mlp_multipliers", 2);
        return new(c.DoubleField("embedding_multiplier") ?? 1, c.DoubleField("lm_head_multiplier") ?? 1,
            c.DoubleField("attention_in_multiplier") ?? 1, c.DoubleField("attention_out_multiplier") ?? 1, c.DoubleField("key_multiplier") ?? 1,
            c.DoubleField("ssm_in_multiplier") ?? 1, c.DoubleField("ssm_out_multiplier") ?? 1, List("ssm_multipliers", 5), mlp[0], mlp[1],
            c.BoolField("mamba_rms_norm") ?? false, c.BoolField("mamba_norm_before_gate") ?? true, c.BoolField("projectors_bias") ?? false);
    }
}

/// <summary>
/// Falcon-H1: every layer runs attention (rotary) and a Mamba 2 mixer side by side on the same normed input and adds both,
/// then a gated SiLU MLP: x + ssm_out·mamba(ssm_in·h) + attn_out·attn(attn_in·h), h = input_layernorm(x), then
/// x + mlp(pre_ff_layernorm(x)). Its µP multipliers (per-part ssm_multipliers on in_proj's output, key_multiplier, the
/// in/out multipliers, mlp_multipliers) are linear, so they are folded into the projection weights once at load;
/// embedding_multiplier and lm_head_multiplier scale the embeddings and the logits.
/// </summary>
public sealed class FalconH1ForCausalLM : DecoderForCausalLM
{
    static readonly WeightNames FinalLayernormNames = WeightNames.Llama with { FinalNorm = "model.final_layernorm.weight" };
    readonly FalconH1Options _o;

    public FalconH1ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
        : base(config, weights, dtype, device, FinalLayernormNames) => _o = FalconH1Options.From(config);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var o = FalconH1Options.From(Config);
        long h = Config.HiddenSize;
        using var noGrad = torch.no_grad();
        var attn = LlamaAttention(index, prefix, w, Config.AttentionBias, Config.AttentionBias, sliding: false);
        // q, k, v read attention_in_multiplier · h; k is then scaled by key_multiplier; o_proj's output by attention_out_multiplier.
        attn.QkvProj.Weight.mul_(Scalars.Of(o.AttentionIn));
        var k = attn.QkvProj.Weight.narrow(0, Config.NumAttentionHeads * Config.HeadDim, Config.NumKeyValueHeads * Config.HeadDim);
        k.mul_(Scalars.Of(o.Key));
        if (attn.QkvProj.Bias is { } qkvBias) qkvBias.narrow(0, Config.NumAttentionHeads * Config.HeadDim, Config.NumKeyValueHeads * Config.HeadDim).mul_(Scalars.Of(o.Key));
        ScaleLinear(attn.OProj, o.AttentionOut);

        var m = Mamba2Options.FromHybrid(Config);
        var d = m.Dims;
        var mamba = m.Load(w, prefix + "mamba.", index, h, gatedNorm: o.MambaRmsNorm, normGroupSize: d.Inner / d.NumGroups,
            normBeforeGate: o.NormBeforeGate, foldMultipliers: (inProj, outProj) =>
            {
                // in_proj(ssm_in · h) ⊙ [z, x, B, C, dt multipliers]
                long gn = (long)d.NumGroups * d.StateSize;
                long[] sizes = [d.Inner, d.Inner, gn, gn, d.NumHeads];
                long at = 0;
                for (int i = 0; i < sizes.Length; i++)
                {
                    double s = o.Ssm[i] * o.SsmIn;
                    inProj.Weight.narrow(0, at, sizes[i]).mul_(Scalars.Of(s));
                    inProj.Bias?.narrow(0, at, sizes[i]).mul_(Scalars.Of(o.Ssm[i]));
                    at += sizes[i];
                }
                ScaleLinear(outProj, o.SsmOut);
            });

        var mlp = LlamaMlp(prefix, w, Config.HiddenAct, Config.MlpBias, module: "feed_forward.");
        // act(gate_multiplier · gate(x)) · up(x), then down · down_multiplier.
        int inter = Config.IntermediateSize;
        mlp.GateUpProj.Weight.narrow(0, 0, inter).mul_(Scalars.Of(o.MlpGate));
        mlp.GateUpProj.Bias?.narrow(0, 0, inter).mul_(Scalars.Of(o.MlpGate));
        ScaleLinear(mlp.DownProj, o.MlpDown);
        return new ParallelMambaLayer(Norm(w, prefix + "input_layernorm.weight", h), attn, mamba, Norm(w, prefix + "pre_ff_layernorm.weight", h), mlp);
    }

    static void ScaleLinear(Linear l, double s)
    {
        if (s == 1.0) return;
        l.Weight.mul_(Scalars.Of(s));
        l.Bias?.mul_(Scalars.Of(s));
    }

    protected override Tensor ScaleEmbeddings(Tensor embeddings) =>
        _o.Embedding == 1.0 ? embeddings : embeddings.mul(Scalars.Of(_o.Embedding));

    public override Tensor ComputeLogits(Tensor hidden)
    {
        var logits = base.ComputeLogits(hidden);
        if (_o.LmHead != 1.0) logits.mul_(Scalars.Of(_o.LmHead));
        return logits;
    }

    /// <summary>x + attn(h) + mamba(h) with h = inputNorm(x), then x + mlp(preFfNorm(x)).</summary>
    sealed class ParallelMambaLayer(INorm inputNorm, SelfAttention attn, Mamba2Mixer mamba, INorm preFfNorm, IFeedForward mlp) : IDecoderLayer
    {
        public Layers.Attention? Attn => attn.Attn;
        public IMambaMixer? Mamba => mamba;

        public Tensor Forward(Tensor x, RotaryCosSin rope, ForwardContext ctx)
        {
            using var scope = NewDisposeScope();
            var h = inputNorm.Forward(x);
            var m = mamba.Forward(h, ctx);
            var a = attn.Forward(h, rope, ctx);
            x.add_(m).add_(a);
            x.add_(mlp.Forward(preFfNorm.Forward(x)));
            return x;
        }

        public void Dispose()
        {
            inputNorm.Dispose();
            attn.Dispose();
            mamba.Dispose();
            preFfNorm.Dispose();
            mlp.Dispose();
        }
    }
}
