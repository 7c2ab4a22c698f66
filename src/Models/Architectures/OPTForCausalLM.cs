using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>OPT's config.json fields the model reads once.</summary>
public sealed record OptOptions(bool LayerNormBefore, long WordEmbedProjDim, string Activation, bool Bias, bool FinalLayerNorm)
{
    /// <summary>OPT's LayerNorms keep torch's default epsilon; config.json gives none.</summary>
    public const double LayerNormEps = 1e-5;

    public static OptOptions From(ModelConfig c)
    {
        if (c.BoolField("layer_norm_elementwise_affine") == false)
            throw new ModelConfigException("OPT with layer_norm_elementwise_affine=false is not supported");
        bool before = c.BoolField("do_layer_norm_before") ?? true;
        return new(before, c.IntField("word_embed_proj_dim") ?? c.HiddenSize, c.StringField("activation_function") ?? "relu",
            c.BoolField("enable_bias") ?? true, before && !(c.BoolField("_remove_final_layer_norm") ?? false));
    }
}

/// <summary>
/// OPT: learned positions stored two rows in (offset 2), ReLU MLP fc1/fc2, LayerNorm blocks that are pre-norm or,
/// with do_layer_norm_before=false (OPT-350m), post-norm. When word_embed_proj_dim differs from hidden_size the
/// embeddings are widened by project_in and the last hidden state narrowed by project_out before the (equally narrow)
/// lm_head. final_layer_norm exists only for pre-norm models.
/// </summary>
public sealed class OPTForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config.TiedUnlessSaid(), Checkpoint(weights), dtype, device, OptNames)
{
    const string Decoder = "model.decoder.";
    static readonly WeightNames OptNames = new(Decoder + "embed_tokens.weight", Decoder + "layers.{0}.", Decoder + "final_layer_norm.weight", "lm_head.weight");
    const long PositionOffset = 2;

    readonly OptOptions _options = OptOptions.From(config);
    readonly LearnedPositionEmbedding _positions = new(new ModelWeights(Checkpoint(weights), dtype, device)
        .Load(Decoder + "embed_positions.weight", [config.MaxPositionEmbeddings + PositionOffset, config.HiddenSize]), PositionOffset);
    readonly Linear? _projectIn = ProjectIn(config, new ModelWeights(Checkpoint(weights), dtype, device));

    /// <summary>facebook/opt-* checkpoints were saved from the base model (`decoder.layers...`).</summary>
    static IWeightSource Checkpoint(IWeightSource weights) => PrefixedWeightSource.WhenSavedWithout(weights, "model.", OptNames.Embed);

    static Linear? ProjectIn(ModelConfig c, ModelWeights w) => OptOptions.From(c).WordEmbedProjDim is var proj && proj != c.HiddenSize
        ? w.Linear(Decoder + "project_in", c.HiddenSize, proj)
        : null;

    protected override long EmbeddingSize => _options.WordEmbedProjDim;

    protected override RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => null;

    protected override Tensor InputHidden(Tensor embeddings, ForwardContext ctx) =>
        _positions.AddTo(_projectIn?.Forward(embeddings) ?? embeddings, ctx.Positions);

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        int h = c.HiddenSize, nh = c.NumAttentionHeads, hd = c.HeadDim;
        bool bias = _options.Bias;
        string p = prefix + "self_attn.";
        var attention = new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [h, h, h], h, bias),
            w.Linear(p + "out_proj", h, h, bias),
            new Layers.Attention(index, nh, nh, hd, 1.0 / Math.Sqrt(hd)));
        var mlp = new Mlp(w.Linear(prefix + "fc1", c.IntermediateSize, h, bias), w.Linear(prefix + "fc2", h, c.IntermediateSize, bias),
            Activations.Get(_options.Activation));
        var attentionNorm = LayerNormAt(w, prefix + "self_attn_layer_norm", h, OptOptions.LayerNormEps);
        var mlpNorm = LayerNormAt(w, prefix + "final_layer_norm", h, OptOptions.LayerNormEps);
        return _options.LayerNormBefore
            ? new DecoderLayer(attentionNorm, attention, mlpNorm, mlp)
            : new PostNormDecoderLayer(attention, attentionNorm, mlp, mlpNorm);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) => new DecoderOutput(
        _options.FinalLayerNorm ? LayerNormAt(w, name[..^".weight".Length], size, OptOptions.LayerNormEps) : null,
        _options.WordEmbedProjDim != size ? w.Linear(Decoder + "project_out", _options.WordEmbedProjDim, size) : null);

    public override void Dispose()
    {
        base.Dispose();
        _positions.Dispose();
        _projectIn?.Dispose();
    }

    /// <summary>What OPT's decoder does after its last layer: final_layer_norm (pre-norm models), then project_out.</summary>
    sealed class DecoderOutput(INorm? norm, Linear? projectOut) : INorm
    {
        public Tensor Forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = norm?.Forward(x) ?? x;
            return projectOut is null ? (ReferenceEquals(h, x) ? x : h.MoveToOuterDisposeScope()) : projectOut.Forward(h).MoveToOuterDisposeScope();
        }

        public (Tensor Normed, Tensor Sum) AddAndNorm(Tensor x, Tensor residual) =>
            throw new NotSupportedException("OPT's decoder output is not a residual norm");

        public void Dispose()
        {
            norm?.Dispose();
            projectOut?.Dispose();
        }
    }
}
