using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>GPT-J's config values beyond the common ones: rotary_dim (rotated dims per head, all when absent) and the LayerNorm eps.</summary>
sealed record GptJOptions(int? RotaryDim, double LayerNormEps, string Activation)
{
    public static GptJOptions From(ModelConfig c) => new(c.IntField("rotary_dim"), c.DoubleField("layer_norm_epsilon") ?? 1e-5,
        c.StringField("activation_function") ?? "gelu_new");
}

/// <summary>
/// GPT-J: attention and MLP in parallel on one LayerNorm (ln_1), GPT-J (interleaved pairs) rotary over the first
/// rotary_dim dims of each head, q/k/v/out_proj without biases, fc_in → GELU-tanh → fc_out with biases, final ln_f,
/// and an lm_head with a bias.
/// </summary>
public sealed class GPTJForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, Weights)
{
    static readonly WeightNames Weights = new("transformer.wte.weight", "transformer.h.{0}.", "transformer.ln_f.weight", "lm_head.weight");

    readonly GptJOptions _options = GptJOptions.From(config);

    protected override bool LmHeadBias => true;

    protected override RotaryEmbedding CreateRotary(ModelConfig config, Device device) =>
        new(config, device, interleaved: true, rotaryDim: GptJOptions.From(config).RotaryDim ?? config.HeadDim);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int nh = c.NumAttentionHeads, hd = c.HeadDim;
        var attention = new SelfAttention(
            w.Packed(prefix + "attn.", Packed, "qkv_proj", [nh * hd, nh * hd, nh * hd], c.HiddenSize),
            w.Linear(prefix + "attn.out_proj", c.HiddenSize, nh * hd),
            new Layers.Attention(index, nh, nh, hd, 1.0 / Math.Sqrt(hd)));
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.fc_in", c.IntermediateSize, c.HiddenSize, bias: true),
            w.Linear(prefix + "mlp.fc_out", c.HiddenSize, c.IntermediateSize, bias: true),
            Activations.Get(_options.Activation));
        return new ParallelDecoderLayer(LayerNormAt(w, prefix + "ln_1", c.HiddenSize, _options.LayerNormEps), attention, null, mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, _options.LayerNormEps);
}
