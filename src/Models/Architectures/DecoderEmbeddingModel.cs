using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A Llama-family decoder (LlamaModel, Qwen2Model, Qwen3Model, ...ForSequenceClassification) as a pooling model:
/// the whole prompt in one causal forward over a throwaway KV cache, hidden states after the final norm, no lm_head.
/// With a classification head, 'score' (no bias) maps pooled rows to labels.
/// </summary>
public sealed class DecoderEmbeddingModel : IPoolingModel
{
    const int BlockSize = 16;
    readonly LlamaForCausalLM _decoder;
    readonly Linear? _score;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    public bool IsEncoder => false;
    public int MaxInputLength => Config.DerivedMaxModelLen;
    public int NumLabels { get; }
    public PoolingType ClassifierPooling => PoolingType.LAST;

    public DecoderEmbeddingModel(ModelConfig config, DecoderFamily family, bool classifier, IWeightSource weights, ScalarType dtype, Device device)
    {
        Config = config;
        DType = dtype;
        Device = device;
        // Base checkpoints (LlamaModel, ...) store 'embed_tokens.weight'; task checkpoints nest it under 'model.'.
        string p = weights.Contains("model.embed_tokens.weight") ? "model." : "";
        var names = new WeightNames(p + "embed_tokens.weight", p + "layers.{0}.", p + "norm.weight", "lm_head.weight");
        // Treating the embedding as tied means no lm_head is expected.
        _decoder = new LlamaForCausalLM(config with { TieWordEmbeddings = true }, family with { Names = names }, weights, dtype, device);
        if (classifier)
        {
            NumLabels = BertModel.LabelCount(config.Raw);
            _score = new Linear(weights.Load("score.weight", [NumLabels, config.HiddenSize], dtype, device), null);
        }
    }

    public Tensor HiddenStates(IReadOnlyList<PoolingInput> inputs)
    {
        using var scope = NewDisposeScope();
        var seqs = new List<SequenceSlice>(inputs.Count);
        var ids = new List<long>();
        int start = 0, nextBlock = 0;
        foreach (var input in inputs)
        {
            int len = input.TokenIds.Length, blocks = (len + BlockSize - 1) / BlockSize;
            seqs.Add(new SequenceSlice(start, len, len, Enumerable.Range(nextBlock, blocks).ToArray()));
            ids.AddRange(input.TokenIds.Select(x => (long)x));
            start += len;
            nextBlock += blocks;
        }
        using var cache = _decoder.AllocateKVCache(nextBlock, BlockSize);
        using var meta = AttentionMetadata.Build(seqs, BlockSize, Config.SlidingWindow, Device, DType);
        var hidden = _decoder.Forward(torch.tensor(ids.ToArray(), device: Device), meta, cache);
        return _decoder.FinalNorm(hidden).MoveToOuterDisposeScope();
    }

    public Tensor ClassifierHead(Tensor pooled)
    {
        if (_score == null) throw new PoolingException($"{Config.Architecture} has no classification head; use embed");
        using var scope = NewDisposeScope();
        return _score.Forward(pooled.to_type(DType)).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _decoder.Dispose();
        _score?.Dispose();
    }
}
