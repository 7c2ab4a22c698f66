using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>ModernBERT's config.json values, read once.</summary>
/// <param name="LocalLayers">Per layer: attention limited to |i - j| &lt;= LocalAttention / 2 (layers not a multiple of global_attn_every_n_layers).</param>
/// <param name="SlidingRope">Per layer: rotary with the local theta (layer_types 'sliding_attention').</param>
public sealed record ModernBertOptions(double NormEps, bool NormBias, bool AttentionBias, bool MlpBias, string Activation,
    int LocalAttention, bool[] LocalLayers, bool[] SlidingRope, double GlobalRopeTheta, double LocalRopeTheta,
    PoolingType ClassifierPooling, bool ClassifierBias, string ClassifierActivation)
{
    public static ModernBertOptions From(ModelConfig c)
    {
        int n = c.NumHiddenLayers, every = c.IntField("global_attn_every_n_layers") ?? 3;
        var local = Enumerable.Range(0, n).Select(i => i % every != 0).ToArray();
        var types = c.Field("layer_types") is JsonArray a && a.Count == n ? a.Select(t => t!.GetValue<string>()).ToArray() : null;
        var sliding = types?.Select(t => t == "sliding_attention").ToArray() ?? local;
        double? Theta(string layerType) => (c.Field("rope_parameters") as JsonObject)?[layerType] is JsonObject p && p["rope_theta"] is JsonValue v ? v.GetValue<double>() : null;
        string activation = c.StringField("hidden_activation") ?? "gelu";
        string pooling = c.StringField("classifier_pooling") ?? "cls";
        return new ModernBertOptions(
            c.DoubleField("norm_eps") ?? 1e-5, c.BoolField("norm_bias") ?? false, c.BoolField("attention_bias") ?? false,
            c.BoolField("mlp_bias") ?? false, activation, c.IntField("local_attention") ?? 128, local, sliding,
            Theta("full_attention") ?? c.DoubleField("global_rope_theta") ?? 160000.0,
            Theta("sliding_attention") ?? c.DoubleField("local_rope_theta") ?? 10000.0,
            pooling switch
            {
                "cls" => PoolingType.CLS,
                "mean" => PoolingType.MEAN,
                _ => throw new ModelConfigException($"{c.Architecture}: classifier_pooling '{pooling}' is not supported (cls or mean)"),
            },
            c.BoolField("classifier_bias") ?? false, c.StringField("classifier_activation") ?? activation);
    }
}

/// <summary>
/// ModernBERT (ModernBertModel, ModernBertForSequenceClassification): token embeddings + LayerNorm, then pre-norm
/// bidirectional layers with NeoX rotary (a global and a local theta), local sliding-window attention on the layers
/// between global ones, a GeGLU MLP, no biases by default; a final LayerNorm. The classifier pools (CLS or mean, per
/// classifier_pooling), then dense + activation + LayerNorm ('head.'), then 'classifier'.
/// </summary>
public sealed class ModernBertModel : IPoolingModel
{
    sealed record Layer(LayerNorm? AttnNorm, Linear Wqkv, Linear AttnOut, LayerNorm MlpNorm, Linear Wi, Linear MlpOut, bool Local, bool SlidingRope) : IDisposable
    {
        public void Dispose()
        {
            AttnNorm?.Dispose();
            foreach (var d in new IDisposable[] { Wqkv, AttnOut, MlpNorm, Wi, MlpOut }) d.Dispose();
        }
    }

    readonly ModernBertOptions _o;
    readonly Tensor _embeddings;
    readonly LayerNorm _embeddingsNorm, _finalNorm;
    readonly Layer[] _layers;
    readonly Linear? _headDense, _classifier;
    readonly LayerNorm? _headNorm;
    readonly Func<Tensor, Tensor> _act, _classifierAct;
    readonly int _numHeads, _headDim;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    public bool IsEncoder => true;
    public int MaxInputLength => Config.MaxPositionEmbeddings;
    public int NumLabels { get; }
    public PoolingType ClassifierPooling => _o.ClassifierPooling;
    public PoolingType RewardPooling => PoolingType.ALL;
    public int OutputSize => Config.HiddenSize;
    /// <summary>Size budget of one padded attention group (see <see cref="EncoderAttentionBatch"/>).</summary>
    public long AttentionGroupBudget { get; set; } = EncoderAttentionBatch.MaxScoreElementsPerHead;

    public ModernBertModel(ModelConfig config, bool classifier, IWeightSource weights, ScalarType dtype, Device device)
    {
        Config = config;
        DType = dtype;
        Device = device;
        _o = ModernBertOptions.From(config);
        int h = config.HiddenSize, inter = config.IntermediateSize;
        _numHeads = config.NumAttentionHeads;
        if (_numHeads <= 0 || h % _numHeads != 0)
            throw new ModelConfigException($"{config.Architecture}: hidden_size ({h}) must be a multiple of num_attention_heads ({_numHeads})");
        _headDim = h / _numHeads;
        _act = Activations.Get(_o.Activation);
        _classifierAct = Activations.Get(_o.ClassifierActivation);
        // Task checkpoints nest the encoder under 'model.'; base checkpoints don't.
        string prefix = weights.Contains("model.embeddings.tok_embeddings.weight") ? "model." : "";
        Tensor W(string name, long[] shape, WeightInit init = WeightInit.Normal) => weights.Load(name, shape, dtype, device, init);
        Linear Lin(string name, long outF, long inF, bool bias) => new(W(name + ".weight", [outF, inF]), bias ? W(name + ".bias", [outF], WeightInit.Zeros) : null);
        LayerNorm Norm(string name) => new(W(name + ".weight", [h], WeightInit.Ones), _o.NormBias ? W(name + ".bias", [h], WeightInit.Zeros) : null, _o.NormEps);

        _embeddings = W(prefix + "embeddings.tok_embeddings.weight", [config.VocabSize, h]);
        _embeddingsNorm = Norm(prefix + "embeddings.norm");
        _layers = new Layer[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++)
        {
            string p = $"{prefix}layers.{i}.";
            _layers[i] = new Layer(i == 0 ? null : Norm(p + "attn_norm"), Lin(p + "attn.Wqkv", 3 * h, h, _o.AttentionBias),
                Lin(p + "attn.Wo", h, h, _o.AttentionBias), Norm(p + "mlp_norm"), Lin(p + "mlp.Wi", 2 * inter, h, _o.MlpBias),
                Lin(p + "mlp.Wo", h, inter, _o.MlpBias), _o.LocalLayers[i], _o.SlidingRope[i]);
        }
        _finalNorm = Norm(prefix + "final_norm");
        if (!classifier) return;
        NumLabels = BertModel.LabelCount(config.Raw);
        _headDense = Lin("head.dense", h, h, _o.ClassifierBias);
        _headNorm = Norm("head.norm");
        _classifier = Lin("classifier", NumLabels, h, true);
    }

    public Tensor HiddenStates(IReadOnlyList<PoolingInput> inputs)
    {
        using var scope = NewDisposeScope();
        var ids = torch.tensor(inputs.SelectMany(i => i.TokenIds.Select(x => (long)x)).ToArray(), device: Device);
        var x = _embeddingsNorm.Forward(_embeddings.index_select(0, ids));
        using var batch = EncoderAttentionBatch.Build(inputs.Select(i => i.TokenIds.Length).ToArray(), Device, DType, AttentionGroupBudget);
        int maxLen = batch.Groups.Max(g => g.MaxLen);
        var globalRope = Rope(_o.GlobalRopeTheta, maxLen);
        var localRope = Rope(_o.LocalRopeTheta, maxLen);
        // Local layers see keys within LocalAttention / 2 positions on either side.
        var pos = torch.arange(maxLen, device: Device);
        var band = torch.zeros([maxLen, maxLen], DType, Device)
            .masked_fill((pos.unsqueeze(0) - pos.unsqueeze(1)).abs() > _o.LocalAttention / 2, float.NegativeInfinity);
        foreach (var layer in _layers)
        {
            var h = layer.AttnNorm?.Forward(x) ?? x;
            x = x + layer.AttnOut.Forward(Attention(layer.Wqkv.Forward(h), batch, layer.SlidingRope ? localRope : globalRope, layer.Local ? band : null));
            var gated = layer.Wi.Forward(layer.MlpNorm.Forward(x)).chunk(2, -1);
            x = x + layer.MlpOut.Forward(_act(gated[0]) * gated[1]);
        }
        return _finalNorm.Forward(x).MoveToOuterDisposeScope();
    }

    /// <summary>NeoX rotary cos/sin [maxLen, headDim] for positions 0.. in float32, cast to the model dtype.</summary>
    (Tensor Cos, Tensor Sin) Rope(double theta, int maxLen)
    {
        var invFreq = torch.pow(theta, torch.arange(0, _headDim, 2, ScalarType.Float32, Device) / _headDim).reciprocal();
        var freqs = torch.outer(torch.arange(maxLen, ScalarType.Float32, Device), invFreq);
        var emb = torch.cat([freqs, freqs], -1);
        return (emb.cos().to_type(DType), emb.sin().to_type(DType));
    }

    static Tensor RotateHalf(Tensor x)
    {
        var halves = x.chunk(2, -1);
        return torch.cat([-halves[1], halves[0]], -1);
    }

    Tensor Attention(Tensor qkv, EncoderAttentionBatch batch, (Tensor Cos, Tensor Sin) rope, Tensor? band)
    {
        long T = qkv.shape[0], H = _numHeads * _headDim;
        var output = torch.empty([T, H], qkv.dtype, qkv.device);
        double scale = 1.0 / Math.Sqrt(_headDim);
        foreach (var g in batch.Groups)
        {
            using var inner = NewDisposeScope();
            long B = g.BatchSize, L = g.MaxLen;
            var parts = qkv.index_select(0, g.Gather).view(B, L, 3, _numHeads, _headDim).permute(2, 0, 3, 1, 4); // [3, B, heads, L, D]
            var cos = rope.Cos.narrow(0, 0, L);
            var sin = rope.Sin.narrow(0, 0, L);
            var q = parts[0] * cos + RotateHalf(parts[0]) * sin;
            var k = parts[1] * cos + RotateHalf(parts[1]) * sin;
            var mask = band is null ? g.Mask : g.Mask + band.narrow(0, 0, L).narrow(1, 0, L);
            var scores = torch.matmul(q, k.transpose(-1, -2)) * scale + mask;
            var probs = torch.softmax(scores, -1, ScalarType.Float32).to_type(qkv.dtype);
            var o = torch.matmul(probs, parts[2]).permute(0, 2, 1, 3).reshape(B * L, H);
            output.index_copy_(0, g.ValidRows, o.index_select(0, g.ValidPadded));
        }
        return output;
    }

    public Tensor ClassifierHead(Tensor pooled)
    {
        if (_classifier == null) throw new PoolingException($"{Config.Architecture} has no classification head; use embed");
        using var scope = NewDisposeScope();
        var x = _headNorm!.Forward(_classifierAct(_headDense!.Forward(pooled.to_type(DType))));
        return _classifier.Forward(x).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _embeddings.Dispose();
        _embeddingsNorm.Dispose();
        _finalNorm.Dispose();
        foreach (var l in _layers) l.Dispose();
        _headDense?.Dispose();
        _headNorm?.Dispose();
        _classifier?.Dispose();
    }
}
