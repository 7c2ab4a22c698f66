using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Which Jamba layers attend and which have experts (every attn_layer_period / expert_layer_period, from an offset).</summary>
public sealed record JambaOptions(int AttnPeriod, int AttnOffset, int ExpertPeriod, int ExpertOffset, int NumExperts, int TopK)
{
    public static JambaOptions From(ModelConfig c) => new(
        c.IntField("attn_layer_period") ?? 8, c.IntField("attn_layer_offset") ?? 4,
        c.IntField("expert_layer_period") ?? 2, c.IntField("expert_layer_offset") ?? 1,
        c.IntField("num_experts") ?? 16, c.IntField("num_experts_per_tok") ?? 2);

    public bool IsAttention(int layer) => layer % AttnPeriod == AttnOffset;
    public bool HasExperts(int layer) => NumExperts > 1 && layer % ExpertPeriod == ExpertOffset;
    /// <summary>The layer's rank among attention layers (its KV cache index) or among Mamba layers (its state index).</summary>
    public int Rank(int layer) => Enumerable.Range(0, layer).Count(i => IsAttention(i) == IsAttention(layer));
}

/// <summary>
/// Jamba: Mamba 1 layers (dt, B and C RMS-normalised with weights) with an attention layer every attn_layer_period and
/// experts in place of the MLP every expert_layer_period (softmax top-k, not renormalised). Attention has no positions.
/// Each layer: x + mixer(input_layernorm(x)), then x + ffn(pre_ff_layernorm(x)).
/// </summary>
public sealed class JambaForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, FinalLayernormNames)
{
    static readonly WeightNames FinalLayernormNames = WeightNames.Llama with { FinalNorm = "model.final_layernorm.weight" };

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var o = JambaOptions.From(Config);
        long h = Config.HiddenSize;
        IFeedForward ffn = o.HasExperts(index)
            ? new SparseMoeBlock(w.Linear(prefix + "feed_forward.router", o.NumExperts, h),
                w.Experts(prefix + "feed_forward.experts.", o.NumExperts, Config.IntermediateSize, h, ("gate_proj", "up_proj", "down_proj"), Activations.Get(Config.HiddenAct)),
                o.TopK, renormalize: false)
            : LlamaMlp(prefix, w, Config.HiddenAct, module: "feed_forward.");
        var inputNorm = Norm(w, prefix + "input_layernorm.weight", h);
        var preFfNorm = Norm(w, prefix + "pre_ff_layernorm.weight", h);
        if (o.IsAttention(index))
            return new DecoderLayer(inputNorm, LlamaAttention(o.Rank(index), prefix, w, qkvBias: false, oBias: false, sliding: false), preFfNorm, ffn);
        var m = MambaOptions.FromHybrid(Config);
        string p = prefix + "mamba.";
        var dtNorm = Norm(w, p + "dt_layernorm.weight", m.TimeStepRank);
        var bNorm = Norm(w, p + "b_layernorm.weight", m.StateSize);
        var cNorm = Norm(w, p + "c_layernorm.weight", m.StateSize);
        var mixer = m.Load(w, p, o.Rank(index), h, dtNorm.Forward, bNorm.Forward, cNorm.Forward, new CompositeDisposable(dtNorm, bNorm, cNorm));
        return new MambaDecoderLayer(inputNorm, mixer, preFfNorm, ffn);
    }

    sealed class CompositeDisposable(params IDisposable[] parts) : IDisposable
    {
        public void Dispose() { foreach (var p in parts) p.Dispose(); }
    }
}
