using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal.Audio;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Whisper (speech recognition and translation): the audio encoder (<see cref="WhisperEncoder"/>) runs once per
/// request and each decoder layer's cross-attention K/V are projected from its output then (<see cref="Encode"/>);
/// the decoder is a pre-norm transformer with learned positions whose self-attention goes through the paged KV cache
/// like any causal LM's, and whose cross-attention reads each sequence's own encoder cache. The LM head is tied to
/// the token embeddings (proj_out when the checkpoint stores it).
/// </summary>
public sealed class WhisperForConditionalGeneration : ICausalLM, IEncoderDecoderModel
{
    const string Dec = "model.decoder.", Enc = "model.encoder.";
    readonly WhisperOptions _o;
    readonly WhisperEncoder _encoder;
    readonly Tensor _embedTokens, _positions;
    readonly Tensor? _projOut;
    readonly DecoderLayer[] _layers;
    readonly LayerNorm _norm;
    readonly double _embedScale;

    public WhisperForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        weights = PrefixedWeightSource.WhenSavedWithout(weights, "model.", Dec + "embed_tokens.weight");
        _o = WhisperOptions.From(config);
        Config = config;
        DType = dtype;
        Device = device;
        var w = new ModelWeights(weights, dtype, device);
        int d = _o.DModel;
        _encoder = new WhisperEncoder(_o, w, Enc);
        _embedTokens = w.Load(Dec + "embed_tokens.weight", [config.VocabSize, d]);
        _positions = w.Load(Dec + "embed_positions.weight", [_o.MaxTargetPositions, d]);
        _projOut = weights.Contains("proj_out.weight") ? w.Load("proj_out.weight", [config.VocabSize, d]) : null;
        _layers = Enumerable.Range(0, _o.DecoderLayers).Select(i => new DecoderLayer(_o, w, $"{Dec}layers.{i}.", i)).ToArray();
        _norm = WhisperEncoder.Norm(w, Dec + "layer_norm", d);
        _embedScale = _o.ScaleEmbedding ? Math.Sqrt(d) : 1.0;
        AttentionLayers = _layers.Select(l => l.Attn).ToArray();
    }

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    public int NumMelBins => _o.NumMelBins;
    public IReadOnlyList<Layers.Attention> AttentionLayers { get; }

    public KVCacheConfig KVCacheConfig(int blockSize) => new(AttentionLayers.Select(a => a.Spec(blockSize, DType)).ToArray());

    public Tensor EmbedInputIds(Tensor inputIds)
    {
        var e = _embedTokens.index_select(0, inputIds);
        return _embedScale == 1.0 ? e : e.mul_(_embedScale);
    }

    public CrossAttentionCache Encode(ProcessedAudio audio)
    {
        if (audio.NumMelBins != _o.NumMelBins)
            throw new ArgumentException($"the audio has {audio.NumMelBins} mel bins but the model takes {_o.NumMelBins}");
        using var scope = NewDisposeScope();
        using var noGrad = no_grad();
        var features = tensor(audio.Features, [1, audio.NumMelBins, audio.NumFrames]).to(DType).to(Device);
        var states = _encoder.Forward(features).squeeze(0); // [S, d]
        var layers = new List<(Tensor, Tensor)>(_layers.Length);
        foreach (var l in _layers)
        {
            var (k, v) = l.CrossKeysValues(states);
            layers.Add((k.DetachFromDisposeScope(), v.DetachFromDisposeScope()));
        }
        return new CrossAttentionCache(layers);
    }

    /// <summary>The encoder's output states [S, d] for features [1, mel, frames] (tests compare them with transformers').</summary>
    public Tensor EncoderStates(Tensor features) => _encoder.Forward(features.to(DType).to(Device));

    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        var cross = ctx.CrossAttention ?? throw new InvalidOperationException("Whisper's decoder needs each sequence's encoder output (ForwardContext.CrossAttention)");
        var x = inputsEmbeds ?? EmbedInputIds(inputIds ?? throw new ArgumentNullException(nameof(inputIds)));
        x = x + _positions.index_select(0, ctx.Positions);
        foreach (var layer in _layers) x = layer.Forward(x, cross, ctx);
        return _norm.Forward(x).MoveToOuterDisposeScope();
    }

    public Tensor ComputeLogits(Tensor hidden) =>
        nn.functional.linear(hidden, _projOut ?? _embedTokens).to_type(ScalarType.Float32);

    public void Dispose()
    {
        _encoder.Dispose();
        _embedTokens.Dispose();
        _positions.Dispose();
        _projOut?.Dispose();
        foreach (var l in _layers) l.Dispose();
        _norm.Dispose();
    }

    /// <summary>Self-attention over the paged cache, cross-attention over the request's encoder cache, then the MLP; each pre-norm.</summary>
    sealed class DecoderLayer : IDisposable
    {
        readonly WhisperAttentionProjections _self, _cross;
        readonly LayerNorm _selfNorm, _crossNorm, _mlpNorm;
        readonly Linear _fc1, _fc2;
        readonly Func<Tensor, Tensor> _act;
        readonly int _index;

        public Layers.Attention Attn { get; }

        public DecoderLayer(WhisperOptions o, ModelWeights w, string p, int index)
        {
            _index = index;
            _self = new WhisperAttentionProjections(w, p + "self_attn.", o.DModel, o.DecoderHeads);
            _cross = new WhisperAttentionProjections(w, p + "encoder_attn.", o.DModel, o.DecoderHeads);
            _selfNorm = WhisperEncoder.Norm(w, p + "self_attn_layer_norm", o.DModel);
            _crossNorm = WhisperEncoder.Norm(w, p + "encoder_attn_layer_norm", o.DModel);
            _mlpNorm = WhisperEncoder.Norm(w, p + "final_layer_norm", o.DModel);
            _fc1 = w.Linear(p + "fc1", o.DecoderFfnDim, o.DModel, true);
            _fc2 = w.Linear(p + "fc2", o.DModel, o.DecoderFfnDim, true);
            _act = Activations.Get(o.Activation);
            Attn = new Layers.Attention(index, _self.Heads, _self.Heads, _self.HeadDim, _self.Scale);
        }

        /// <summary>This layer's cross-attention keys and values [H, S, D] for encoder states [S, d].</summary>
        public (Tensor K, Tensor V) CrossKeysValues(Tensor states)
        {
            using var scope = NewDisposeScope();
            long s = states.shape[0];
            var k = _cross.K.Forward(states).view(s, _cross.Heads, _cross.HeadDim).transpose(0, 1).contiguous();
            var v = _cross.V.Forward(states).view(s, _cross.Heads, _cross.HeadDim).transpose(0, 1).contiguous();
            return (k.MoveToOuterDisposeScope(), v.MoveToOuterDisposeScope());
        }

        public Tensor Forward(Tensor x, CrossAttentionBatch cross, ForwardContext ctx)
        {
            using var scope = NewDisposeScope();
            long t = x.shape[0];
            var h = _selfNorm.Forward(x);
            var q = _self.Q.Forward(h).view(t, _self.Heads, _self.HeadDim);
            var k = _self.K.Forward(h).view(t, _self.Heads, _self.HeadDim);
            var v = _self.V.Forward(h).view(t, _self.Heads, _self.HeadDim);
            x = x + _self.Out.Forward(Attn.Forward(q, k, v, RotaryCosSin.None, ctx));

            h = _crossNorm.Forward(x);
            var cq = _cross.Q.Forward(h);
            var parts = new Tensor[cross.Slices.Count];
            for (int i = 0; i < parts.Length; i++)
            {
                var slice = cross.Slices[i];
                var (ck, cv) = slice.Encoder.Layers[_index];
                var qi = cq.narrow(0, slice.QueryStart, slice.QueryLen).view(slice.QueryLen, _cross.Heads, _cross.HeadDim).transpose(0, 1);
                parts[i] = WhisperAttentionProjections.Attend(qi, ck, cv, _cross.Scale).transpose(0, 1).reshape(slice.QueryLen, -1);
            }
            var attended = parts.Length == 1 ? parts[0] : cat(parts, 0);
            if (attended.shape[0] != t)
                throw new InvalidOperationException($"cross-attention covers {attended.shape[0]} of the step's {t} rows");
            x = x + _cross.Out.Forward(attended);

            x = x + _fc2.Forward(_act(_fc1.Forward(_mlpNorm.Forward(x))));
            return x.MoveToOuterDisposeScope();
        }

        public void Dispose()
        {
            _self.Dispose(); _cross.Dispose(); _selfNorm.Dispose(); _crossNorm.Dispose(); _mlpNorm.Dispose(); _fc1.Dispose(); _fc2.Dispose();
        }
    }
}
