using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// What every decoder-only language model shares: token embeddings, a stack of layers the architecture builds,
/// a final norm, rotary positions and the lm_head (tied to the embeddings or not). An architecture file overrides
/// <see cref="BuildLayer"/> (and the norm or embedding scale where it differs) and wires shared layers; the
/// Llama-style attention and MLP builders below are the common parts.
/// </summary>
public abstract class DecoderForCausalLM : ICausalLM, ISupportsLoRA
{
    readonly Tensor _embed;
    readonly IDecoderLayer[] _layers;
    readonly INorm _norm;
    readonly Tensor _lmHead;
    readonly Tensor? _lmHeadBias;
    readonly bool _tied;
    readonly RotaryEmbedding? _rotary;
    readonly RotaryEmbedding? _slidingRotary;
    readonly bool[] _ropeLayers;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    protected WeightNames Names { get; }
    /// <summary>Which checkpoint projections this model packs; Llama's unless an architecture says otherwise.</summary>
    protected virtual PackedModules Packed => PackedModules.Llama;

    protected DecoderForCausalLM(ModelConfig config, IWeightSource source, ScalarType dtype, Device device, WeightNames? names = null)
    {
        Config = config;
        DType = dtype;
        Device = device;
        Names = names ?? WeightNames.Llama;
        var w = new ModelWeights(source, dtype, device);
        int h = config.HiddenSize;
        _embed = w.Load(Names.Embed, [config.VocabSize, EmbeddingSize]);
        _layers = new IDecoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++) _layers[i] = BuildLayer(i, Names.LayerPrefix(i), w);
        _norm = FinalNorm(w, Names.FinalNorm, h);
        // Some checkpoints store lm_head even when tied; vLLM then ignores it, and so do we.
        _tied = config.TieWordEmbeddings;
        _lmHead = _tied ? _embed : w.Load(Names.LmHead, [config.VocabSize, EmbeddingSize]);
        if (_tied && source.Contains(Names.LmHead) && source is not DummyWeightSource) w.Load(Names.LmHead, [config.VocabSize, EmbeddingSize]).Dispose();
        if (LmHeadBias) _lmHeadBias = w.Load(Names.LmHead[..^".weight".Length] + ".bias", [config.VocabSize], WeightInit.Zeros);
        _rotary = CreateRotary(config, device);
        _ropeLayers = Enumerable.Range(0, _layers.Length).Select(UsesRope).ToArray();
        if (_rotary != null && SlidingRope() is { } sliding && sliding != config.Rope) _slidingRotary = CreateRotary(config with { Rope = sliding }, device);
        LoRATargets = w.LoRATargets.ToArray();
    }

    public IReadOnlyList<LoRATarget> LoRATargets { get; }

    /// <summary>Whether the lm_head has a bias beside its weight (GPT-J, Phi).</summary>
    protected virtual bool LmHeadBias => false;

    /// <summary>Width of the token embeddings and of the lm_head rows (OPT-350m's are narrower than the model).</summary>
    protected virtual long EmbeddingSize => Config.HiddenSize;

    /// <summary>
    /// The rotary embedding the layers share; null for models without rotary positions (learned absolute positions,
    /// ALiBi). Override to rotate GPT-J-style (interleaved pairs) or with another config.
    /// </summary>
    protected virtual RotaryEmbedding? CreateRotary(ModelConfig config, Device device) => new(config, device);

    /// <summary>
    /// The first hidden state from the (scaled) token embeddings: learned absolute positions are added here, and
    /// OPT's project_in widens narrow embeddings. <paramref name="ctx"/> holds the step's positions.
    /// </summary>
    protected virtual Tensor InputHidden(Tensor embeddings, ForwardContext ctx) => embeddings;

    /// <summary>
    /// Rotary parameters of the sliding-window layers when they differ from the others' (Gemma 3's local base
    /// frequency); null when every layer rotates alike.
    /// </summary>
    protected virtual RopeConfig? SlidingRope() => Config.SlidingRope;

    /// <summary>
    /// Whether a backend may rotate q and k inside its cache write; false when the layers change q/k after rotary
    /// (HunYuan's q/k norms), so rotary runs in the layers.
    /// </summary>
    protected virtual bool RotaryFusable => true;

    /// <summary>Whether layer <paramref name="index"/> rotates q and k (false for NoPE layers).</summary>
    protected virtual bool UsesRope(int index) => true;

    protected abstract IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w);

    protected virtual RmsNorm Norm(ModelWeights w, string name, long size) => w.RmsNorm(name, size, Config.RmsNormEps);

    /// <summary>The norm after the last layer (<see cref="Norm"/> unless the architecture uses another kind).</summary>
    protected virtual INorm FinalNorm(ModelWeights w, string name, long size) => Norm(w, name, size);

    /// <summary>LayerNorm with weight and bias under `{prefix}.weight` / `{prefix}.bias`.</summary>
    protected static LayerNorm LayerNormAt(ModelWeights w, string prefix, long size, double eps) =>
        new(w.Load(prefix + ".weight", [size], WeightInit.Ones), w.Load(prefix + ".bias", [size], WeightInit.Zeros), eps);

    /// <summary>Embedding rows as the first layer sees them (Gemma scales them by sqrt(hidden_size)).</summary>
    protected virtual Tensor ScaleEmbeddings(Tensor embeddings) => embeddings;

    /// <summary>
    /// Llama-style self-attention under `{prefix}self_attn.`: packed q/k/v, o_proj, optional q/k RMSNorm per head.
    /// <paramref name="sliding"/> overrides config's per-layer choice of the sliding window; <paramref name="softcap"/>
    /// caps the attention scores (Gemma 2); <paramref name="qkNormAcrossHeads"/> normalises all of q (and of k) at once
    /// instead of each head (OLMo 2); <paramref name="clipQkv"/> clamps q, k and v (OLMo's clip_qkv).
    /// </summary>
    protected SelfAttention LlamaAttention(int index, string prefix, ModelWeights w, bool qkvBias, bool oBias, bool qkNorm = false,
        double? scale = null, double? softcap = null, bool? sliding = null, bool qkNormAcrossHeads = false, double? clipQkv = null)
    {
        var c = Config;
        int nh = c.NumAttentionHeads, kv = c.NumKeyValueHeads, hd = c.HeadDim;
        string p = prefix + "self_attn.";
        var window = c.SlidingWindow != null && (sliding ?? c.SlidingLayers[index]) ? c.SlidingWindow : null;
        return new SelfAttention(
            w.Packed(p, Packed, "qkv_proj", [nh * hd, kv * hd, kv * hd], c.HiddenSize, qkvBias),
            w.Linear(p + "o_proj", c.HiddenSize, nh * hd, oBias),
            new Layers.Attention(index, nh, kv, hd, scale ?? 1.0 / Math.Sqrt(hd), window, softcap, causal: c.BoolField("is_causal") != false),
            qkNorm ? Norm(w, p + "q_norm.weight", qkNormAcrossHeads ? nh * hd : hd) : null,
            qkNorm ? Norm(w, p + "k_norm.weight", qkNormAcrossHeads ? kv * hd : hd) : null,
            qkNormAcrossHeads, clipQkv);
    }

    /// <summary>Gated MLP under `{prefix}{module}` (`mlp.` unless given): packed gate/up, down.</summary>
    protected GatedMlp LlamaMlp(string prefix, ModelWeights w, string activation, bool bias = false, int? intermediateSize = null, string module = "mlp.")
    {
        var c = Config;
        string p = prefix + module;
        int inter = intermediateSize ?? c.IntermediateSize;
        return new GatedMlp(
            w.Packed(p, Packed, "gate_up_proj", [inter, inter], c.HiddenSize, bias),
            w.Linear(p + "down_proj", c.HiddenSize, inter, bias),
            Activations.Get(activation), activation is "silu" or "swish");
    }

    /// <summary>The pre-norm block of the Llama family.</summary>
    protected DecoderLayer LlamaLayer(string prefix, ModelWeights w, SelfAttention attention, IFeedForward mlp, double residualMultiplier = 1.0) => new(
        Norm(w, prefix + "input_layernorm.weight", Config.HiddenSize), attention,
        Norm(w, prefix + "post_attention_layernorm.weight", Config.HiddenSize), mlp, residualMultiplier);

    public Tensor EmbedInputIds(Tensor inputIds)
    {
        using var scope = NewDisposeScope();
        return ScaleEmbeddings(_embed.index_select(0, inputIds)).MoveToOuterDisposeScope();
    }

    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx)
    {
        using var scope = NewDisposeScope();
        // Layers may update their input in place, so caller-owned embeddings are copied first.
        var x = inputsEmbeds?.clone() ?? EmbedInputIds(inputIds ?? throw new ArgumentException("Forward needs input ids or input embeddings"));
        x = InputHidden(x, ctx);
        var rope = _rotary is null ? RotaryCosSin.None : RopeFor(_rotary, ctx);
        var slidingRope = _slidingRotary is null ? rope : RopeFor(_slidingRotary, ctx);
        for (int i = 0; i < _layers.Length; i++)
        {
            var layer = _layers[i];
            x = layer.Forward(x, !_ropeLayers[i] ? RotaryCosSin.None : layer.Attn?.SlidingWindow is null ? rope : slidingRope, ctx);
        }
        return _norm.Forward(x).MoveToOuterDisposeScope();
    }

    RotaryCosSin RopeFor(RotaryEmbedding rotary, ForwardContext ctx)
    {
        // The table covers every position a captured CUDA graph can reach (CudaGraphOptions.MaxCapturedContext).
        // M-RoPE models get 3 x T positions from the input batch (none for text-only forwards, which rotate as usual).
        if (rotary.IsMRope && ctx.Batch.MRopePositions is { } mrope)
        {
            var (mcos, msin) = rotary.ForMRopePositions(mrope, DType);
            return new RotaryCosSin(mcos, msin);
        }
        int rows = Math.Max(Math.Max(Config.MaxPositionEmbeddings, Config.DerivedMaxModelLen), Runner.CudaGraphOptions.MaxCapturedContext);
        if (RotaryFusable && ctx.Backend.FusesRotary && !rotary.Interleaved && ctx.Batch.MaxSeqLen <= rows && rotary.CosSinCache(rows) is { } table)
            return new RotaryCosSin(null, null, table);
        var (cos, sin) = rotary.ForPositions(ctx.Positions, ctx.Batch.Seqs, DType);
        return new RotaryCosSin(cos, sin, Interleaved: rotary.Interleaved);
    }

    public virtual Tensor ComputeLogits(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        return nn.functional.linear(hidden, _lmHead, _lmHeadBias).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public IReadOnlyList<Layers.Attention> AttentionLayers => _layers.Where(l => l.Attn != null).Select(l => l.Attn!).ToArray();

    public KVCacheConfig KVCacheConfig(int blockSize) => new(AttentionLayers.Select(a => a.Spec(blockSize, DType)).ToArray(),
        _layers.Where(l => l.Mamba != null).Select(l => l.Mamba!).OrderBy(m => m.StateIndex).Select(m => m.Spec(blockSize, DType)).ToArray());

    public virtual void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
        _norm.Dispose();
        if (!_tied) _lmHead.Dispose();
        _lmHeadBias?.Dispose();
        _embed.Dispose();
        _rotary?.Dispose();
        _slidingRotary?.Dispose();
    }
}
