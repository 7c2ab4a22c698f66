using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Any decoder as a pooling model (LlamaModel, Qwen2Model, Qwen3Model, ...ForSequenceClassification,
/// Qwen2ForRewardModel, or a ...ForCausalLM converted with --convert): the whole prompt in one causal forward over a
/// throwaway KV cache, hidden states after the final norm; lm_head, when the checkpoint has one, is not used.
/// The <see cref="DecoderHead"/> decides what comes on top.
/// </summary>
public sealed class DecoderEmbeddingModel : IPoolingModel
{
    const int BlockSize = 16;
    readonly IDecoderModel _decoder;
    readonly Linear? _score;
    readonly Linear? _rewardHidden, _rewardOut;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    public bool IsEncoder => false;
    public int MaxInputLength => Config.DerivedMaxModelLen;
    public int NumLabels { get; }
    public PoolingType ClassifierPooling => PoolingType.LAST;
    public PoolingType RewardPooling { get; }
    public int OutputSize { get; }

    /// <param name="numLabels">Overrides config.json's num_labels (reward models fix it: 1, or 2 for process rewards).</param>
    /// <param name="createDecoder">Builds the decoder from its causal-LM checkpoint names (the registry's factory).</param>
    public DecoderEmbeddingModel(ModelConfig config, DecoderFactory createDecoder, DecoderHead head, IWeightSource weights, ScalarType dtype, Device device,
        int? numLabels = null, PoolingType rewardPooling = PoolingType.ALL)
    {
        Config = config;
        DType = dtype;
        Device = device;
        RewardPooling = rewardPooling;
        // Base checkpoints (LlamaModel, ...) store 'embed_tokens.weight'; task and causal-LM checkpoints nest it under 'model.'.
        var source = weights.Contains("model.embed_tokens.weight") ? weights : new PrefixedWeightSource(weights, "model.");
        // Treating the embedding as tied means no lm_head is expected (one that is there is read and dropped).
        _decoder = createDecoder(config with { TieWordEmbeddings = true }, source, dtype, device);
        int h = config.HiddenSize;
        if (head == DecoderHead.None) { OutputSize = h; return; }
        int labels = numLabels ?? BertModel.LabelCount(config.Raw);
        if (head == DecoderHead.SequenceClassifier)
        {
            // As vLLM's as_seq_cls_model: the head runs in float32 on float32 pooled rows.
            if (SeqClsConversion.From(config) is { } conversion)
            {
                NumLabels = conversion.NumLabels;
                _score = new Linear(ConvertedScore(conversion, config, source, device), null);
            }
            else
            {
                NumLabels = labels;
                if (!weights.Contains("score.weight"))
                    throw new WeightLoadException($"{config.Architecture} as a classifier needs a 'score.weight' [{NumLabels}, {h}] in the checkpoint (or classifier_from_token and method in its config), and it has none");
                _score = new Linear(weights.Load("score.weight", [NumLabels, h], ScalarType.Float32, device), null);
            }
            OutputSize = h;
        }
        else
        {
            _rewardHidden = new Linear(weights.Load("score.0.weight", [h, h], dtype, device), weights.Load("score.0.bias", [h], dtype, device, WeightInit.Zeros));
            // Its labels are per-token outputs, not a classifier over a pooled row: NumLabels stays 0.
            _rewardOut = new Linear(weights.Load("score.2.weight", [labels, h], dtype, device), weights.Load("score.2.bias", [labels], dtype, device, WeightInit.Zeros));
            OutputSize = labels;
        }
    }

    /// <summary>
    /// 'score.weight' from the lm_head rows of the conversion's tokens; the lm_head is the embedding matrix when the
    /// causal LM ties them (vLLM reads it the same way), else lm_head.weight.
    /// </summary>
    static Tensor ConvertedScore(SeqClsConversion conversion, ModelConfig config, IWeightSource source, Device device)
    {
        const string Embed = "model.embed_tokens.weight", LmHead = "lm_head.weight";
        string name = config.TieWordEmbeddings ? Embed : LmHead;
        if (!source.Contains(name))
            throw new WeightLoadException($"{config.Architecture} with classifier_from_token needs the causal LM's '{name}' to build its score head, and the checkpoint has none");
        var ids = conversion.TokenIds(config);
        using var lmHead = source.Load(name, [config.VocabSize, config.HiddenSize], ScalarType.Float32, device);
        return conversion.ScoreWeight(lmHead, ids);
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
            seqs.Add(new SequenceSlice(start, len, len, Enumerable.Range(nextBlock, blocks).ToArray(), StateSlot: seqs.Count));
            ids.AddRange(input.TokenIds.Select(x => (long)x));
            start += len;
            nextBlock += blocks;
        }
        var backend = AttentionBackends.For(_decoder);
        using var cache = OneShotForward.AllocateCache(_decoder, nextBlock, BlockSize, backend, numStateSlots: seqs.Count);
        var hidden = OneShotForward.Run(_decoder, seqs, ids, cache, backend);
        if (_rewardOut != null) hidden = _rewardOut.Forward(torch.nn.functional.relu(_rewardHidden!.Forward(hidden))).to_type(ScalarType.Float32);
        return hidden.MoveToOuterDisposeScope();
    }

    public Tensor ClassifierHead(Tensor pooled)
    {
        if (_score == null) throw new PoolingException($"{Config.Architecture} has no classification head; use embed");
        using var scope = NewDisposeScope();
        return _score.Forward(pooled.to_type(ScalarType.Float32)).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _decoder.Dispose();
        _score?.Dispose();
        _rewardHidden?.Dispose();
        _rewardOut?.Dispose();
    }
}
