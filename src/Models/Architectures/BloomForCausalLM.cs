using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>BLOOM's config.json fields the model reads once.</summary>
public sealed record BloomOptions(double LayerNormEps)
{
    public static BloomOptions From(ModelConfig c)
    {
        if (c.BoolField("apply_residual_connection_post_layernorm") == true)
            throw new ModelConfigException("BLOOM with apply_residual_connection_post_layernorm=true is not supported");
        return new(c.DoubleField("layer_norm_epsilon") ?? 1e-5);
    }
}

/// <summary>
/// BLOOM: ALiBi positions (no rotary, no position table), a LayerNorm right after the word embeddings
/// (word_embeddings_layernorm), pre-norm LayerNorm blocks, query_key_value fused head by head, and a 4x MLP with
/// BLOOM's tanh-approximated GELU. The lm_head is tied to the word embeddings.
/// </summary>
public sealed class BloomForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config.TiedUnlessSaid(), Checkpoint(weights), dtype, device, BloomNames)
{
    static readonly WeightNames BloomNames = new("transformer.word_embeddings.weight", "transformer.h.{0}.", "transformer.ln_f.weight", "lm_head.weight");

    readonly BloomOptions _options = BloomOptions.From(config);
    readonly LayerNorm _embeddingsNorm = LayerNormAt(new ModelWeights(Checkpoint(weights), dtype, device),
        "transformer.word_embeddings_layernorm", config.HiddenSize, BloomOptions.From(config).LayerNormEps);

    /// <summary>bigscience/bloom-* checkpoints were saved from the base model (`h.0...`).</summary>
    static IWeightSource Checkpoint(IWeightSource weights) => PrefixedWeightSource.WhenSavedWithout(weights, "transformer.", BloomNames.Embed);

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override Tensor InputHidden(Tensor embeddings, ForwardContext ctx) => _embeddingsNorm.Forward(embeddings);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize, nh = c.NumAttentionHeads, hd = c.HeadDim;
        string p = prefix + "self_attention.";
        var attention = new SelfAttention(
            w.QkvGroupedByKvHead(p + "query_key_value", nh, nh, hd, h, bias: true),
            w.Linear(p + "dense", h, h, bias: true),
            new Layers.Attention(index, nh, nh, hd, 1.0 / Math.Sqrt(hd), alibiSlopes: AlibiSlopes.Bloom(nh)));
        var mlp = new Mlp(w.Linear(prefix + "mlp.dense_h_to_4h", 4 * h, h, bias: true), w.Linear(prefix + "mlp.dense_4h_to_h", h, 4 * h, bias: true),
            Activations.Get("gelu_new"));
        return new DecoderLayer(LayerNormAt(w, prefix + "input_layernorm", h, _options.LayerNormEps), attention,
            LayerNormAt(w, prefix + "post_attention_layernorm", h, _options.LayerNormEps), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);

    public override void Dispose()
    {
        base.Dispose();
        _embeddingsNorm.Dispose();
    }
}
