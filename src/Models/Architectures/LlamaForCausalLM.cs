using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// The Llama decoder and its close relatives (Mistral, Qwen2, Qwen3): one implementation, with the family
/// differences (biases, q/k norm, sliding window, head_dim, GQA, rope scaling) switched by <see cref="DecoderFamily"/>
/// and the config.
/// </summary>
public sealed class LlamaForCausalLM : ICausalLM
{
    readonly Tensor _embed;
    readonly DecoderLayer[] _layers;
    readonly RmsNorm _norm;
    readonly Tensor _lmHead;
    readonly bool _tied;
    readonly RotaryEmbedding _rotary;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }

    public LlamaForCausalLM(ModelConfig config, DecoderFamily family, IWeightSource weights, ScalarType dtype, Device device)
    {
        Config = config;
        DType = dtype;
        Device = device;
        var names = family.Names;
        int h = config.HiddenSize, nh = config.NumAttentionHeads, kv = config.NumKeyValueHeads, hd = config.HeadDim, inter = config.IntermediateSize;
        Tensor W(string name, long[] shape, WeightInit init = WeightInit.Normal) => weights.Load(name, shape, dtype, device, init);
        Tensor? B(bool present, string name, long n) => present ? W(name, [n], WeightInit.Zeros) : null;

        _embed = W(names.Embed, [config.VocabSize, h]);
        _layers = new DecoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < config.NumHiddenLayers; i++)
        {
            string p = names.LayerPrefix(i);
            bool qkvBias = family.QkvBias ?? config.AttentionBias;
            bool oBias = family.OBias ?? config.AttentionBias;
            _layers[i] = new DecoderLayer
            {
                LayerIndex = i,
                InputNorm = new RmsNorm(W(p + "input_layernorm.weight", [h], WeightInit.Ones), config.RmsNormEps),
                PostAttentionNorm = new RmsNorm(W(p + "post_attention_layernorm.weight", [h], WeightInit.Ones), config.RmsNormEps),
                QkvProj = Stacked(
                    new Linear(W(p + "self_attn.q_proj.weight", [nh * hd, h]), B(qkvBias, p + "self_attn.q_proj.bias", nh * hd)),
                    new Linear(W(p + "self_attn.k_proj.weight", [kv * hd, h]), B(qkvBias, p + "self_attn.k_proj.bias", kv * hd)),
                    new Linear(W(p + "self_attn.v_proj.weight", [kv * hd, h]), B(qkvBias, p + "self_attn.v_proj.bias", kv * hd))),
                OProj = new Linear(W(p + "self_attn.o_proj.weight", [h, nh * hd]), B(oBias, p + "self_attn.o_proj.bias", h)),
                QNorm = family.QkNorm ? new RmsNorm(W(p + "self_attn.q_norm.weight", [hd], WeightInit.Ones), config.RmsNormEps) : null,
                KNorm = family.QkNorm ? new RmsNorm(W(p + "self_attn.k_norm.weight", [hd], WeightInit.Ones), config.RmsNormEps) : null,
                GateUpProj = Stacked(
                    new Linear(W(p + "mlp.gate_proj.weight", [inter, h]), B(config.MlpBias, p + "mlp.gate_proj.bias", inter)),
                    new Linear(W(p + "mlp.up_proj.weight", [inter, h]), B(config.MlpBias, p + "mlp.up_proj.bias", inter))),
                DownProj = new Linear(W(p + "mlp.down_proj.weight", [h, inter]), B(config.MlpBias, p + "mlp.down_proj.bias", h)),
                NumHeads = nh,
                NumKvHeads = kv,
                HeadDim = hd,
                Sliding = config.SlidingWindow != null && config.SlidingLayers[i],
            };
        }
        _norm = new RmsNorm(W(names.FinalNorm, [h], WeightInit.Ones), config.RmsNormEps);
        // Some checkpoints store lm_head even when tied; vLLM then ignores it, and so do we.
        _tied = config.TieWordEmbeddings;
        _lmHead = _tied ? _embed : W(names.LmHead, [config.VocabSize, h]);
        if (_tied && weights.Contains(names.LmHead) && weights is SafetensorsWeightSource) weights.Load(names.LmHead, [config.VocabSize, h], dtype, device).Dispose();
        _rotary = new RotaryEmbedding(config, device);
    }

    /// <summary>Stacks projections that read the same input into one (rows concatenated); the parts are disposed.</summary>
    static Linear Stacked(params Linear[] parts)
    {
        var w = torch.cat(parts.Select(l => l.Weight).ToArray(), 0);
        var b = parts.All(l => l.Bias is not null) ? torch.cat(parts.Select(l => l.Bias!).ToArray(), 0) : null;
        foreach (var l in parts) l.Dispose();
        return new Linear(w, b);
    }

    public Tensor Forward(Tensor inputIds, AttentionMetadata meta, KVCache cache)
    {
        using var scope = NewDisposeScope();
        var x = _embed.index_select(0, inputIds);
        var (cos, sin) = _rotary.ForPositions(meta.Positions, meta.Seqs, DType);
        foreach (var layer in _layers) x = layer.Forward(x, cos, sin, cache, meta);
        return x.MoveToOuterDisposeScope();
    }

    /// <summary>The final RMSNorm applied to hidden rows (the model's last hidden state, before lm_head).</summary>
    public Tensor FinalNorm(Tensor hidden) => _norm.Forward(hidden);

    public Tensor ComputeLogits(Tensor hidden)
    {
        using var scope = NewDisposeScope();
        var normed = _norm.Forward(hidden);
        return nn.functional.linear(normed, _lmHead).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public KVCache AllocateKVCache(int numBlocks, int blockSize) =>
        new(Config.NumHiddenLayers, numBlocks, blockSize, Config.NumKeyValueHeads, Config.HeadDim, DType, Device);

    public long KVCacheBytesPerBlock(int blockSize) =>
        KVCache.BytesPerBlock(Config.NumHiddenLayers, blockSize, Config.NumKeyValueHeads, Config.HeadDim, DType);

    public void Dispose()
    {
        foreach (var l in _layers) l.Dispose();
        _norm.Dispose();
        if (!_tied) _lmHead.Dispose();
        _embed.Dispose();
        _rotary.Dispose();
    }
}
