using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>GPTBigCode's config.json fields the model reads once.</summary>
public sealed record GptBigCodeOptions(double LayerNormEps, string Activation, bool MultiQuery, bool ScaleAttnWeights)
{
    public static GptBigCodeOptions From(ModelConfig c) => new(
        c.DoubleField("layer_norm_epsilon") ?? 1e-5,
        c.StringField("activation_function") ?? "gelu_pytorch_tanh",
        c.BoolField("multi_query") ?? true,
        c.BoolField("scale_attn_weights") ?? true);
}

/// <summary>
/// GPTBigCode (SantaCoder, StarCoder): GPT-2's blocks with nn.Linear weights and, with multi_query, one K/V head
/// shared by all query heads. c_attn fuses [q (all heads), k, v]; without multi_query it is laid out head by head
/// ([head][q, k, v]), as transformers splits it. Learned absolute positions (wpe).
/// </summary>
public sealed class GPTBigCodeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config.TiedUnlessSaid(), weights, dtype, device, BigCodeNames)
{
    static readonly WeightNames BigCodeNames = new("transformer.wte.weight", "transformer.h.{0}.", "transformer.ln_f.weight", "lm_head.weight");
    static readonly PackedModules FusedQkv = new(new Dictionary<string, string[]> { ["c_attn"] = ["c_attn"] });

    readonly GptBigCodeOptions _options = GptBigCodeOptions.From(config);
    readonly LearnedPositionEmbedding _wpe = new(new ModelWeights(weights, dtype, device)
        .Load("transformer.wpe.weight", [config.MaxPositionEmbeddings, config.HiddenSize]));

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override Tensor InputHidden(Tensor embeddings, ForwardContext ctx) => _wpe.AddTo(embeddings, ctx.Positions);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize, nh = c.NumAttentionHeads, hd = h / nh;
        int kv = _options.MultiQuery ? 1 : nh;
        string p = prefix + "attn.";
        var qkv = _options.MultiQuery
            ? w.Packed(p, FusedQkv, "c_attn", [h, hd, hd], h, bias: true)
            : w.QkvGroupedByKvHead(p + "c_attn", nh, nh, hd, h, bias: true);
        var attention = new SelfAttention(qkv, w.Linear(p + "c_proj", h, h, bias: true),
            new Layers.Attention(index, nh, kv, hd, _options.ScaleAttnWeights ? 1.0 / Math.Sqrt(hd) : 1.0));
        var mlp = new Mlp(w.Linear(prefix + "mlp.c_fc", c.IntermediateSize, h, bias: true),
            w.Linear(prefix + "mlp.c_proj", h, c.IntermediateSize, bias: true), Activations.Get(_options.Activation));
        return new DecoderLayer(LayerNormAt(w, prefix + "ln_1", h, _options.LayerNormEps), attention,
            LayerNormAt(w, prefix + "ln_2", h, _options.LayerNormEps), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);

    public override void Dispose()
    {
        base.Dispose();
        _wpe.Dispose();
    }
}
