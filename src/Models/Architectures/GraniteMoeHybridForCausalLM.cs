using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>GraniteMoeHybrid's multipliers and layer kinds, read once.</summary>
public sealed record GraniteMoeHybridOptions(string[] LayerTypes, double EmbeddingMultiplier, double AttentionMultiplier,
    double ResidualMultiplier, double LogitsScaling, int NumExperts, int TopK, int SharedIntermediate, bool Rope)
{
    public static GraniteMoeHybridOptions From(ModelConfig c) => new(
        (c.Field("layer_types") as System.Text.Json.Nodes.JsonArray)?.Select(x => x!.GetValue<string>()).ToArray()
            ?? throw new ModelConfigException("GraniteMoeHybrid needs layer_types in config.json"),
        c.DoubleField("embedding_multiplier") ?? 1.0, c.DoubleField("attention_multiplier") ?? 1.0 / Math.Sqrt(c.HeadDim),
        c.DoubleField("residual_multiplier") ?? 1.0, c.DoubleField("logits_scaling") ?? 1.0,
        c.IntField("num_local_experts") ?? 0, c.IntField("num_experts_per_tok") ?? 0, c.IntField("shared_intermediate_size") ?? 0,
        c.StringField("position_embedding_type") == "rope");

    public bool IsMamba(int layer) => LayerTypes[layer] == "mamba" || LayerTypes[layer] == "linear_attention";
    public int Rank(int layer) => Enumerable.Range(0, layer).Count(i => IsMamba(i) == IsMamba(layer));
}

/// <summary>
/// GraniteMoeHybrid (Granite 4): Mamba 2 and attention layers by layer_types, each followed by experts (softmax over the
/// top-k logits, fused `input_linear` gate+up and `output_linear`) plus a shared gated MLP; Granite's embedding,
/// attention, residual and logits multipliers; rotary only when position_embedding_type is "rope".
/// </summary>
public sealed class GraniteMoeHybridForCausalLM : DecoderForCausalLM
{
    readonly GraniteMoeHybridOptions _o;

    public GraniteMoeHybridForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
        : base(config, weights, dtype, device) => _o = GraniteMoeHybridOptions.From(config);

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) =>
        GraniteMoeHybridOptions.From(config).Rope ? base.CreateRotary(config, device) : null;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var o = GraniteMoeHybridOptions.From(Config);
        long h = Config.HiddenSize;
        var inputNorm = Norm(w, prefix + "input_layernorm.weight", h);
        var postNorm = Norm(w, prefix + "post_attention_layernorm.weight", h);
        var ffn = Ffn(prefix, w, o);
        if (!o.IsMamba(index))
            return new DecoderLayer(inputNorm, LlamaAttention(o.Rank(index), prefix, w, Config.AttentionBias, Config.AttentionBias,
                scale: o.AttentionMultiplier, sliding: false), postNorm, ffn, o.ResidualMultiplier);
        var m = Mamba2Options.FromHybrid(Config);
        return new MambaDecoderLayer(inputNorm, m.Load(w, prefix + "mamba.", o.Rank(index), h, normGroupSize: m.Dims.Inner / m.Dims.NumGroups),
            postNorm, ffn, o.ResidualMultiplier);
    }

    IFeedForward Ffn(string prefix, ModelWeights w, GraniteMoeHybridOptions o)
    {
        long h = Config.HiddenSize;
        var act = Activations.Get(Config.HiddenAct);
        bool silu = Config.HiddenAct is "silu" or "swish";
        GatedMlp? shared = o.SharedIntermediate > 0
            ? new GatedMlp(new Linear(w.Load(prefix + "shared_mlp.input_linear.weight", [2L * o.SharedIntermediate, h]), null, [o.SharedIntermediate, o.SharedIntermediate]),
                w.Linear(prefix + "shared_mlp.output_linear", h, o.SharedIntermediate), act, silu)
            : null;
        if (o.NumExperts == 0) return shared ?? throw new ModelConfigException("GraniteMoeHybrid needs experts or a shared MLP");
        long inter = Config.IntermediateSize;
        string p = prefix + "block_sparse_moe.";
        // input_linear holds each expert's gate rows then its up rows, as FusedMoe's w13.
        var experts = new FusedMoe(w.Load(p + "input_linear.weight", [o.NumExperts, 2 * inter, h]), w.Load(p + "output_linear.weight", [o.NumExperts, h, inter]), act);
        return new SparseMoeBlock(w.Linear(p + "router.layer", o.NumExperts, h), experts, o.TopK, renormalize: true, shared);
    }

    protected override Tensor ScaleEmbeddings(Tensor embeddings) =>
        _o.EmbeddingMultiplier == 1.0 ? embeddings : embeddings.mul(Scalars.Of(_o.EmbeddingMultiplier));

    public override Tensor ComputeLogits(Tensor hidden)
    {
        var logits = base.ComputeLogits(hidden);
        if (_o.LogitsScaling != 1.0) logits.div_(Scalars.Of(_o.LogitsScaling));
        return logits;
    }
}
