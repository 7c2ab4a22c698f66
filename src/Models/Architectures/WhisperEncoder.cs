using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Whisper's audio encoder: two GELU convolutions (the second with stride 2) over the log-mel frames, learned
/// positions, pre-norm transformer layers with full (non-causal) attention, and a final LayerNorm.
/// [num_mel_bins, 2 * max_source_positions] features become [max_source_positions, d_model] states.
/// </summary>
public sealed class WhisperEncoder : IDisposable
{
    readonly WhisperOptions _o;
    readonly Tensor _conv1W, _conv1B, _conv2W, _conv2B, _positions;
    readonly Layer[] _layers;
    readonly LayerNorm _norm;
    readonly Func<Tensor, Tensor> _act;

    public WhisperEncoder(WhisperOptions o, ModelWeights w, string prefix)
    {
        _o = o;
        int d = o.DModel;
        _act = Activations.Get(o.Activation);
        _conv1W = w.Load(prefix + "conv1.weight", [d, o.NumMelBins, 3]);
        _conv1B = w.Load(prefix + "conv1.bias", [d], WeightInit.Zeros);
        _conv2W = w.Load(prefix + "conv2.weight", [d, d, 3]);
        _conv2B = w.Load(prefix + "conv2.bias", [d], WeightInit.Zeros);
        _positions = w.Load(prefix + "embed_positions.weight", [o.MaxSourcePositions, d]);
        _layers = Enumerable.Range(0, o.EncoderLayers).Select(i => new Layer(o, w, $"{prefix}layers.{i}.")).ToArray();
        _norm = Norm(w, prefix + "layer_norm", d);
    }

    /// <summary>The frames the encoder takes: 2 * max_source_positions (3000 for 30 s).</summary>
    public int NumFrames => 2 * _o.MaxSourcePositions;

    internal static LayerNorm Norm(ModelWeights w, string name, long size) =>
        new(w.Load(name + ".weight", [size], WeightInit.Ones), w.Load(name + ".bias", [size], WeightInit.Zeros), WhisperOptions.LayerNormEps);

    /// <summary>features [B, mel, frames] → [B, max_source_positions, d_model].</summary>
    public Tensor Forward(Tensor features)
    {
        using var scope = NewDisposeScope();
        return _norm.Forward(Layers(features, _o.MaxSourcePositions)).MoveToOuterDisposeScope();
    }

    /// <summary>
    /// Qwen2-Audio's tower (Qwen2AudioEncoder): the convolutions over all frames, the layers over the first
    /// <paramref name="positions"/> states only (transformers masks the keys past the clip, which leaves the states
    /// before them exactly as if the rest were absent), average pooling by 2, then the final LayerNorm.
    /// features [B, mel, frames] → [B, positions / 2, d_model].
    /// </summary>
    public Tensor ForwardPooled(Tensor features, int positions)
    {
        using var scope = NewDisposeScope();
        var x = Layers(features, positions);
        x = nn.functional.avg_pool1d(x.permute(0, 2, 1), 2, 2).permute(0, 2, 1);
        return _norm.Forward(x).MoveToOuterDisposeScope();
    }

    Tensor Layers(Tensor features, int positions)
    {
        if (features.shape[^1] != NumFrames)
            throw new ArgumentException($"the Whisper encoder takes {NumFrames} frames, not {features.shape[^1]}");
        if (positions < 1 || positions > _o.MaxSourcePositions)
            throw new ArgumentOutOfRangeException(nameof(positions), $"{positions} encoder positions, the encoder has {_o.MaxSourcePositions}");
        var x = _act(nn.functional.conv1d(features, _conv1W, _conv1B, padding: 1));
        x = _act(nn.functional.conv1d(x, _conv2W, _conv2B, stride: 2, padding: 1));
        x = x.permute(0, 2, 1);
        if (positions < _o.MaxSourcePositions) x = x.narrow(1, 0, positions);
        x = x + _positions.narrow(0, 0, positions);
        foreach (var layer in _layers) x = layer.Forward(x);
        return x;
    }

    public void Dispose()
    {
        foreach (var t in new[] { _conv1W, _conv1B, _conv2W, _conv2B, _positions }) t.Dispose();
        foreach (var l in _layers) l.Dispose();
        _norm.Dispose();
    }

    sealed class Layer(WhisperOptions o, ModelWeights w, string p) : IDisposable
    {
        readonly WhisperAttentionProjections _attn = new(w, p + "self_attn.", o.DModel, o.EncoderHeads);
        readonly LayerNorm _attnNorm = Norm(w, p + "self_attn_layer_norm", o.DModel), _mlpNorm = Norm(w, p + "final_layer_norm", o.DModel);
        readonly Linear _fc1 = w.Linear(p + "fc1", o.EncoderFfnDim, o.DModel, true), _fc2 = w.Linear(p + "fc2", o.DModel, o.EncoderFfnDim, true);
        readonly Func<Tensor, Tensor> _act = Activations.Get(o.Activation);

        public Tensor Forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            var h = _attnNorm.Forward(x);
            long b = h.shape[0], s = h.shape[1];
            var q = _attn.Q.Forward(h).view(b, s, _attn.Heads, _attn.HeadDim).transpose(1, 2);
            var k = _attn.K.Forward(h).view(b, s, _attn.Heads, _attn.HeadDim).transpose(1, 2);
            var v = _attn.V.Forward(h).view(b, s, _attn.Heads, _attn.HeadDim).transpose(1, 2);
            var a = WhisperAttentionProjections.Attend(q, k, v, _attn.Scale).transpose(1, 2).reshape(b, s, -1);
            x = x + _attn.Out.Forward(a);
            x = x + _fc2.Forward(_act(_fc1.Forward(_mlpNorm.Forward(x))));
            return x.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            _attn.Dispose(); _attnNorm.Dispose(); _mlpNorm.Dispose(); _fc1.Dispose(); _fc2.Dispose();
        }
    }
}

/// <summary>A Whisper attention block's projections: q, v and out with bias, k without (as the checkpoints store them).</summary>
public sealed class WhisperAttentionProjections(ModelWeights w, string p, int dModel, int heads) : IDisposable
{
    public Linear Q { get; } = w.Linear(p + "q_proj", dModel, dModel, true);
    public Linear K { get; } = w.Linear(p + "k_proj", dModel, dModel, false);
    public Linear V { get; } = w.Linear(p + "v_proj", dModel, dModel, true);
    public Linear Out { get; } = w.Linear(p + "out_proj", dModel, dModel, true);
    public int Heads { get; } = heads;
    public int HeadDim { get; } = dModel / heads;
    public double Scale => 1.0 / Math.Sqrt(HeadDim);

    /// <summary>softmax(q k^T * scale) v over the last two dims, computed in float32.</summary>
    public static Tensor Attend(Tensor q, Tensor k, Tensor v, double scale)
    {
        using var scope = NewDisposeScope();
        var scores = torch.matmul(q.to_type(ScalarType.Float32), k.to_type(ScalarType.Float32).transpose(-1, -2)).mul_(scale);
        var probs = scores.softmax(-1);
        return torch.matmul(probs, v.to_type(ScalarType.Float32)).to_type(q.dtype).MoveToOuterDisposeScope();
    }

    public void Dispose() { Q.Dispose(); K.Dispose(); V.Dispose(); Out.Dispose(); }
}
