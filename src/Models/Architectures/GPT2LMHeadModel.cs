using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>GPT-2's config.json fields the model reads once.</summary>
public sealed record Gpt2Options(double LayerNormEps, string Activation, bool ScaleAttnWeights, bool ScaleByInverseLayerIdx)
{
    public static Gpt2Options From(ModelConfig c) => new(
        c.DoubleField("layer_norm_epsilon") ?? 1e-5,
        c.StringField("activation_function") ?? "gelu_new",
        c.BoolField("scale_attn_weights") ?? true,
        c.BoolField("scale_attn_by_inverse_layer_idx") ?? false);
}

/// <summary>
/// GPT-2: learned absolute positions (wpe) added to the token embeddings, pre-norm blocks with LayerNorm (ln_1, ln_2,
/// ln_f), a fused c_attn and an ungated c_fc → gelu_new → c_proj MLP, all stored as Conv1D ([in, out], transposed at
/// load), and the lm_head tied to wte.
/// </summary>
public sealed class GPT2LMHeadModel(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config.TiedUnlessSaid(), Checkpoint(weights), dtype, device, Gpt2Names)
{
    static readonly WeightNames Gpt2Names = new("transformer.wte.weight", "transformer.h.{0}.", "transformer.ln_f.weight", "lm_head.weight");

    readonly Gpt2Options _options = Gpt2Options.From(config);
    readonly LearnedPositionEmbedding _wpe = new(new ModelWeights(Checkpoint(weights), dtype, device)
        .Load("transformer.wpe.weight", [config.MaxPositionEmbeddings, config.HiddenSize]));

    static IWeightSource Checkpoint(IWeightSource weights) =>
        PrefixedWeightSource.WhenSavedWithout(weights, "transformer.", Gpt2Names.Embed);

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override Tensor InputHidden(Tensor embeddings, ForwardContext ctx) => _wpe.AddTo(embeddings, ctx.Positions);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize, nh = c.NumAttentionHeads, hd = c.HeadDim;
        double scale = (_options.ScaleAttnWeights ? 1.0 / Math.Sqrt(hd) : 1.0) / (_options.ScaleByInverseLayerIdx ? index + 1 : 1);
        var attention = new SelfAttention(
            w.Conv1D(prefix + "attn.c_attn", [h, h, h], h),
            w.Conv1D(prefix + "attn.c_proj", [h], h),
            new Layers.Attention(index, nh, nh, hd, scale));
        var mlp = new Mlp(w.Conv1D(prefix + "mlp.c_fc", [c.IntermediateSize], h), w.Conv1D(prefix + "mlp.c_proj", [h], c.IntermediateSize),
            Activations.Get(_options.Activation));
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
