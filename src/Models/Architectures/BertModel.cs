using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// The BERT encoder family (BERT, RoBERTa, XLM-RoBERTa), as a base model or with its sequence-classification head:
/// word + position + token-type embeddings and LayerNorm, then post-LN bidirectional encoder layers.
/// Checkpoints with or without the task model's 'bert.'/'roberta.' prefix both load.
/// </summary>
public sealed class BertModel : IPoolingModel
{
    readonly Tensor _wordEmbeddings, _positionEmbeddings, _tokenTypeEmbeddings;
    readonly LayerNorm _embeddingsNorm;
    readonly EncoderLayer[] _layers;
    readonly Linear? _pooler;
    readonly Linear? _classifierDense;
    readonly Linear? _classifierOut;
    readonly EncoderFamily _family;
    readonly EncoderHead _head;
    readonly int _paddingIdx;
    readonly int _typeVocabSize;

    public ModelConfig Config { get; }
    public ScalarType DType { get; }
    public Device Device { get; }
    public bool IsEncoder => true;
    public int MaxInputLength { get; }
    public int NumLabels { get; }
    public PoolingType ClassifierPooling => PoolingType.CLS;
    public PoolingType RewardPooling => PoolingType.ALL;
    public int OutputSize => Config.HiddenSize;
    /// <summary>Size budget of one padded attention group (see <see cref="EncoderAttentionBatch"/>).</summary>
    public long AttentionGroupBudget { get; set; } = EncoderAttentionBatch.MaxScoreElementsPerHead;

    public BertModel(ModelConfig config, EncoderFamily family, EncoderHead head, IWeightSource weights, ScalarType dtype, Device device)
    {
        Config = config;
        DType = dtype;
        Device = device;
        _family = family;
        _head = head;
        var raw = config.Raw;
        if (raw["position_embedding_type"] is JsonValue pet && pet.GetValue<string>() != "absolute")
            throw new ModelConfigException($"{family.Name}: position_embedding_type '{pet.GetValue<string>()}' is not supported (absolute only)");
        double eps = raw["layer_norm_eps"] is JsonValue e ? e.GetValue<double>() : 1e-12;
        _typeVocabSize = raw["type_vocab_size"] is JsonValue tv ? tv.GetValue<int>() : 2;
        _paddingIdx = raw["pad_token_id"] is JsonValue pv && pv.TryGetValue<int>(out var pad) ? pad : (family.PaddingOffsetPositions ? 1 : 0);
        int maxPos = config.MaxPositionEmbeddings;
        MaxInputLength = family.PaddingOffsetPositions ? maxPos - _paddingIdx - 1 : maxPos;
        NumLabels = head == EncoderHead.None ? 0 : LabelCount(raw);
        // ModelConfig defaults hidden_act to the decoders' silu; BERT's default is gelu.
        var act = Activations.Get(raw["hidden_act"] is JsonValue ha ? ha.GetValue<string>() : "gelu");
        int h = config.HiddenSize, inter = config.IntermediateSize, nh = config.NumAttentionHeads;
        if (h % nh != 0) throw new ModelConfigException($"{family.Name}: hidden_size ({h}) must be a multiple of num_attention_heads ({nh})");

        // Task checkpoints nest the encoder under 'bert.'/'roberta.'; base checkpoints usually don't. Accept both.
        var names = family.Names;
        string prefix = weights.Contains(family.Prefix + names.WordEmbeddings + ".weight") ? family.Prefix : "";
        Tensor W(string name, long[] shape, WeightInit init = WeightInit.Normal) => weights.Load(prefix + name, shape, dtype, device, init);
        Tensor Head(string name, long[] shape, WeightInit init = WeightInit.Normal) => weights.Load(name, shape, dtype, device, init);
        Linear Lin(string name, long outF, long inF) => new(W(name + ".weight", [outF, inF]), W(name + ".bias", [outF], WeightInit.Zeros));
        LayerNorm Norm(string name) => new(W(name + ".weight", [h], WeightInit.Ones), W(name + ".bias", [h], WeightInit.Zeros), eps);

        _wordEmbeddings = W(names.WordEmbeddings + ".weight", [config.VocabSize, h]);
        _positionEmbeddings = W(names.PositionEmbeddings + ".weight", [maxPos, h]);
        _tokenTypeEmbeddings = W(names.TokenTypeEmbeddings + ".weight", [_typeVocabSize, h]);
        _embeddingsNorm = Norm(names.EmbeddingsNorm);
        _layers = new EncoderLayer[config.NumHiddenLayers];
        for (int i = 0; i < _layers.Length; i++)
        {
            string p = names.LayerPrefix(i);
            _layers[i] = new EncoderLayer
            {
                Query = Lin(p + names.Query, h, h),
                Key = Lin(p + names.Key, h, h),
                Value = Lin(p + names.Value, h, h),
                AttentionOutput = Lin(p + names.AttentionOutput, h, h),
                AttentionNorm = Norm(p + names.AttentionNorm),
                Intermediate = Lin(p + names.Intermediate, inter, h),
                Output = Lin(p + names.Output, h, inter),
                OutputNorm = Norm(p + names.OutputNorm),
                NumHeads = nh,
                HeadDim = h / nh,
                Activation = act,
            };
        }
        // The pooler is part of BERT's classification head; base checkpoints may carry it too (unused for embeddings).
        if (head == EncoderHead.BertPoolerClassifier || weights is SafetensorsWeightSource && weights.Contains(prefix + names.Pooler + ".weight"))
            _pooler = Lin(names.Pooler, h, h);
        if (head == EncoderHead.BertPoolerClassifier)
            _classifierOut = new Linear(Head("classifier.weight", [NumLabels, h]), Head("classifier.bias", [NumLabels], WeightInit.Zeros));
        else if (head == EncoderHead.RobertaClassifier)
        {
            _classifierDense = new Linear(Head("classifier.dense.weight", [h, h]), Head("classifier.dense.bias", [h], WeightInit.Zeros));
            _classifierOut = new Linear(Head("classifier.out_proj.weight", [NumLabels, h]), Head("classifier.out_proj.bias", [NumLabels], WeightInit.Zeros));
        }
    }

    /// <summary>num_labels, else the size of id2label, else transformers' default of 2.</summary>
    internal static int LabelCount(JsonObject raw) =>
        raw["num_labels"] is JsonValue n ? n.GetValue<int>() : raw["id2label"] is JsonObject m ? m.Count : 2;

    public Tensor HiddenStates(IReadOnlyList<PoolingInput> inputs)
    {
        using var scope = NewDisposeScope();
        int total = inputs.Sum(i => i.TokenIds.Length);
        var ids = new long[total];
        var positions = new long[total];
        var types = new long[total];
        int t = 0;
        for (int s = 0; s < inputs.Count; s++)
        {
            var input = inputs[s];
            if (input.TokenTypeIds is { } tt && tt.Length != input.TokenIds.Length)
                throw new PoolingException($"input {s}: {tt.Length} token type ids for {input.TokenIds.Length} tokens");
            int nonPad = 0;
            for (int j = 0; j < input.TokenIds.Length; j++, t++)
            {
                int id = input.TokenIds[j];
                ids[t] = id;
                if (_family.PaddingOffsetPositions)
                    positions[t] = id == _paddingIdx ? _paddingIdx : _paddingIdx + ++nonPad;
                else
                    positions[t] = j;
                int type = input.TokenTypeIds?[j] ?? 0;
                if (type < 0 || type >= _typeVocabSize)
                    throw new PoolingException($"input {s}: token type id {type} at position {j} is outside [0, {_typeVocabSize})");
                types[t] = type;
            }
        }
        var idT = torch.tensor(ids, device: Device);
        var x = _wordEmbeddings.index_select(0, idT)
                + _positionEmbeddings.index_select(0, torch.tensor(positions, device: Device))
                + _tokenTypeEmbeddings.index_select(0, torch.tensor(types, device: Device));
        x = _embeddingsNorm.Forward(x);
        using var batch = EncoderAttentionBatch.Build(inputs.Select(i => i.TokenIds.Length).ToArray(), Device, DType, AttentionGroupBudget);
        foreach (var layer in _layers) x = layer.Forward(x, batch);
        return x.MoveToOuterDisposeScope();
    }

    public Tensor ClassifierHead(Tensor pooled)
    {
        if (_classifierOut == null) throw new PoolingException($"{Config.Architecture} has no classification head; use embed");
        using var scope = NewDisposeScope();
        var x = pooled.to_type(DType);
        x = _head == EncoderHead.BertPoolerClassifier
            ? torch.tanh(_pooler!.Forward(x))
            : torch.tanh(_classifierDense!.Forward(x));
        return _classifierOut.Forward(x).to_type(ScalarType.Float32).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _wordEmbeddings.Dispose();
        _positionEmbeddings.Dispose();
        _tokenTypeEmbeddings.Dispose();
        _embeddingsNorm.Dispose();
        foreach (var l in _layers) l.Dispose();
        _pooler?.Dispose();
        _classifierDense?.Dispose();
        _classifierOut?.Dispose();
    }
}
