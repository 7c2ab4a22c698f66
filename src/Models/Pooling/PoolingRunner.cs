using Pipeline.Models.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>
/// Runs a pooling model over a batch of token-id inputs and returns plain arrays: embeddings (embed),
/// class scores (classify), a relevance score for a pair built by the caller (score), or per-token rows (reward).
/// All inputs go through one forward; results equal running them one at a time.
/// </summary>
public sealed class PoolingRunner(IPoolingModel model, string? modelDir = null, PoolerConfig? overridePoolerConfig = null)
{
    public IPoolingModel Model => model;

    /// <summary>The embedding sizes the model was trained for (config.json matryoshka_dimensions), if it lists them.</summary>
    public IReadOnlyList<int>? MatryoshkaDimensions { get; } =
        model.Config.Raw["matryoshka_dimensions"] is System.Text.Json.Nodes.JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray() : null;

    /// <summary>The model-level pooler config for a task: task defaults, sentence-transformers files, overrides.</summary>
    public PoolerConfig PoolerConfigFor(PoolingTask task) =>
        PoolerDefaults.For(task, model.IsEncoder, model.ClassifierPooling, modelDir, overridePoolerConfig);

    /// <summary>One embedding per input (pooled, truncated to 'dimensions', normalized as configured).</summary>
    public float[][] Embed(IReadOnlyList<int[]> inputs, PoolingParams? p = null) =>
        Encode(Wrap(inputs), PoolingTask.Embed, p, requireSingleRow: true).Select(r => r[0]).ToArray();

    /// <summary>Per input: one row per token (ALL) or per step (STEP), or a single row for the other pooling types.</summary>
    public float[][][] EncodeTokens(IReadOnlyList<int[]> inputs, PoolingParams? p = null, PoolingTask task = PoolingTask.Reward) =>
        Encode(Wrap(inputs), task, p, requireSingleRow: false);

    /// <summary>Class probabilities per input (softmax, or sigmoid for one label); raw logits with activation off.</summary>
    public float[][] Classify(IReadOnlyList<int[]> inputs, PoolingParams? p = null) => Classify(Wrap(inputs), PoolingTask.Classify, p);

    /// <summary>Cross-encoder relevance of one pair (query and document tokens joined by the caller).</summary>
    public float Score(int[] pair, int[]? tokenTypeIds = null, PoolingParams? p = null) =>
        Score([new PoolingInput(pair, tokenTypeIds)], p)[0];

    /// <summary>Cross-encoder relevance of several pairs in one forward.</summary>
    public float[] Score(IReadOnlyList<PoolingInput> pairs, PoolingParams? p = null)
    {
        if (model.NumLabels != 1)
            throw new PoolingException($"score needs a single-label classification head; {model.Config.Architecture} has {model.NumLabels} labels (use classify)");
        return Classify(pairs, PoolingTask.Score, p).Select(r => r[0]).ToArray();
    }

    public float[][] Classify(IReadOnlyList<PoolingInput> inputs, PoolingTask task, PoolingParams? p)
    {
        if (model.NumLabels == 0)
            throw new PoolingException($"{model.Config.Architecture} has no classification head; it supports embed only");
        var r = (p ?? PoolingParams.Default).Resolve(PoolerConfigFor(task), task, model.Config.HiddenSize, MatryoshkaDimensions);
        if (r.PoolingType is PoolingType.ALL or PoolingType.STEP)
            throw new PoolingException($"pooling_type {r.PoolingType} gives token-level rows; classify needs CLS, LAST or MEAN");
        Validate(inputs);
        if (inputs.Count == 0) return [];
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        var hidden = model.HiddenStates(inputs);
        var pooled = torch.stack(Pooler.Pool(hidden, inputs.Select(i => i.TokenIds).ToList(), r.PoolingType));
        var logits = model.ClassifierHead(pooled);
        if (r.Activation) logits = Pooler.Activate(logits);
        return ToRows(logits);
    }

    float[][][] Encode(IReadOnlyList<PoolingInput> inputs, PoolingTask task, PoolingParams? p, bool requireSingleRow)
    {
        var r = (p ?? PoolingParams.Default).Resolve(PoolerConfigFor(task), task, model.Config.HiddenSize, MatryoshkaDimensions);
        if (requireSingleRow && r.PoolingType is PoolingType.ALL or PoolingType.STEP)
            throw new PoolingException($"pooling_type {r.PoolingType} gives one row per token; use {nameof(EncodeTokens)} instead of {nameof(Embed)}");
        Validate(inputs);
        if (inputs.Count == 0) return [];
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        var hidden = model.HiddenStates(inputs);
        var pooled = Pooler.Pool(hidden, inputs.Select(i => i.TokenIds).ToList(), r.PoolingType, r.StepTagId, r.ReturnedTokenIds);
        var result = new float[pooled.Length][][];
        for (int i = 0; i < pooled.Length; i++)
        {
            var x = Pooler.PostProcess(pooled[i], r.Dimensions, r.Normalize);
            if (r.PoolingType == PoolingType.STEP && r.Activation) x = torch.softmax(x, -1);
            result[i] = x.dim() == 1 ? [x.cpu().data<float>().ToArray()] : ToRows(x);
        }
        return result;
    }

    void Validate(IReadOnlyList<PoolingInput> inputs)
    {
        int vocab = model.Config.VocabSize, max = model.MaxInputLength;
        for (int i = 0; i < inputs.Count; i++)
        {
            var ids = inputs[i].TokenIds ?? throw new PoolingException($"input {i} is null");
            if (ids.Length == 0) throw new PoolingException($"input {i} is empty: at least one token is needed");
            if (ids.Length > max)
                throw new PoolingException($"input {i} has {ids.Length} tokens, more than the model's maximum of {max} (max_position_embeddings)");
            for (int j = 0; j < ids.Length; j++)
                if (ids[j] < 0 || ids[j] >= vocab)
                    throw new PoolingException($"input {i}: token id {ids[j]} at position {j} is outside the vocabulary [0, {vocab})");
        }
    }

    static List<PoolingInput> Wrap(IReadOnlyList<int[]> inputs) => inputs.Select(x => new PoolingInput(x)).ToList();

    static float[][] ToRows(Tensor x)
    {
        var cpu = x.to_type(ScalarType.Float32).cpu().contiguous();
        long n = cpu.shape[0], d = cpu.shape[1];
        var flat = cpu.data<float>().ToArray();
        var rows = new float[n][];
        for (long i = 0; i < n; i++) rows[i] = flat.AsSpan((int)(i * d), (int)d).ToArray();
        return rows;
    }
}
