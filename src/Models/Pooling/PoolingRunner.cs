using Pipeline.Models.Architectures;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Pooling;

/// <summary>
/// Runs a pooling model over a batch of token-id inputs and returns plain arrays: embeddings (embed),
/// class scores (classify), a relevance score for a pair built by the caller (score), or per-token rows (reward).
/// All inputs go through one forward, whatever their tasks and parameters; results equal running them one at a time.
/// </summary>
public sealed class PoolingRunner(IPoolingModel model, string? modelDir = null, PoolerConfig? overridePoolerConfig = null)
{
    public IPoolingModel Model => model;

    /// <summary>The embedding sizes the model was trained for (config.json matryoshka_dimensions), if it lists them.</summary>
    public IReadOnlyList<int>? MatryoshkaDimensions { get; } =
        model.Config.Raw["matryoshka_dimensions"] is System.Text.Json.Nodes.JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray() : null;

    /// <summary>The model-level pooler config for a task: task defaults, sentence-transformers files, overrides.</summary>
    public PoolerConfig PoolerConfigFor(PoolingTask task) => _poolerConfigs.GetOrAdd(task, t =>
        PoolerDefaults.For(t, model.IsEncoder, model.ClassifierPooling, modelDir, overridePoolerConfig, model.RewardPooling, model.DefaultEmbedPooling));

    // Read once per task: the sentence-transformers files do not change while the model is loaded.
    readonly System.Collections.Concurrent.ConcurrentDictionary<PoolingTask, PoolerConfig> _poolerConfigs = new();

    /// <summary>One embedding per input (pooled, truncated to 'dimensions', normalized as configured).</summary>
    public float[][] Embed(IReadOnlyList<int[]> inputs, PoolingParams? p = null) =>
        Run(Items(inputs.Select(x => new PoolingInput(x)), PoolingTask.Embed, p)).Select(r => r[0]).ToArray();

    /// <summary>Per input: one row per token (ALL) or per step (STEP), or a single row for the other pooling types.</summary>
    public float[][][] EncodeTokens(IReadOnlyList<int[]> inputs, PoolingParams? p = null, PoolingTask task = PoolingTask.Reward) =>
        Run(Items(inputs.Select(x => new PoolingInput(x)), task, p));

    /// <summary>Class probabilities per input (softmax, or sigmoid for one label); raw logits with activation off.</summary>
    public float[][] Classify(IReadOnlyList<int[]> inputs, PoolingParams? p = null) =>
        Classify(inputs.Select(x => new PoolingInput(x)).ToList(), PoolingTask.Classify, p);

    /// <summary>Cross-encoder relevance of one pair (query and document tokens joined by the caller).</summary>
    public float Score(int[] pair, int[]? tokenTypeIds = null, PoolingParams? p = null) =>
        Score([new PoolingInput(pair, tokenTypeIds)], p)[0];

    /// <summary>Cross-encoder relevance of several pairs in one forward.</summary>
    public float[] Score(IReadOnlyList<PoolingInput> pairs, PoolingParams? p = null) =>
        Run(Items(pairs, PoolingTask.Score, p)).Select(r => r[0][0]).ToArray();

    public float[][] Classify(IReadOnlyList<PoolingInput> inputs, PoolingTask task, PoolingParams? p) =>
        Run(Items(inputs, task, p)).Select(r => r[0]).ToArray();

    static List<PoolingItem> Items(IEnumerable<PoolingInput> inputs, PoolingTask task, PoolingParams? p) =>
        inputs.Select(i => new PoolingItem(i, task, p ?? PoolingParams.Default)).ToList();

    /// <summary>
    /// Checks one request against the model before it is queued: task supported, parameters valid, tokens in range.
    /// Throws <see cref="PoolingException"/> naming the problem; returns the settings it will run with.
    /// </summary>
    public ResolvedPooling Check(PoolingItem item, int index = 0)
    {
        var task = item.Task;
        bool classify = task is PoolingTask.Classify or PoolingTask.Score;
        // A head on every token (reward models) makes its outputs rewards, not hidden states to embed or classify.
        bool rewardOnly = model.OutputSize != model.Config.HiddenSize;
        if (rewardOnly && task != PoolingTask.Reward)
            throw new PoolingException($"{model.Config.Architecture} has no classification head and gives per-token rewards; it supports reward only");
        if (classify && model.NumLabels == 0)
            throw new PoolingException($"{model.Config.Architecture} has no classification head; it supports embed only");
        if (task == PoolingTask.Score && model.NumLabels != 1)
            throw new PoolingException($"score needs a single-label classification head; {model.Config.Architecture} has {model.NumLabels} labels (use classify)");
        var r = item.Params.Resolve(PoolerConfigFor(task), task, model.OutputSize, MatryoshkaDimensions);
        if (r.PoolingType is PoolingType.ALL or PoolingType.STEP)
        {
            if (classify) throw new PoolingException($"pooling_type {r.PoolingType} gives token-level rows; classify needs CLS, LAST or MEAN");
            if (task == PoolingTask.Embed) throw new PoolingException($"pooling_type {r.PoolingType} gives one row per token; use {nameof(EncodeTokens)} (the reward task) instead of {nameof(Embed)}");
        }
        var ids = item.Input.TokenIds ?? throw new PoolingException($"input {index} is null");
        int vocab = model.Config.VocabSize, max = model.MaxInputLength;
        if (ids.Length == 0) throw new PoolingException($"input {index} is empty: at least one token is needed");
        if (ids.Length > max)
            throw new PoolingException($"input {index} has {ids.Length} tokens, more than the model's maximum of {max} (max_position_embeddings)");
        for (int j = 0; j < ids.Length; j++)
            if (ids[j] < 0 || ids[j] >= vocab)
                throw new PoolingException($"input {index}: token id {ids[j]} at position {j} is outside the vocabulary [0, {vocab})");
        if (task == PoolingTask.Embed && r.PoolingType == PoolingType.MEAN && model.InstructionLength(ids) is var skip && skip >= ids.Length)
            throw new PoolingException($"input {index}: nothing follows the instruction ({skip} of {ids.Length} tokens) to embed");
        return r;
    }

    /// <summary>
    /// One forward over every item; per item the rows its task gives: one row for embed, classify and score (the
    /// score row holds one value), one row per token or step for ALL / STEP pooling.
    /// </summary>
    public float[][][] Run(IReadOnlyList<PoolingItem> items)
    {
        var resolved = items.Select((item, i) => Check(item, i)).ToArray();
        if (items.Count == 0) return [];
        using var scope = NewDisposeScope();
        using var _ = torch.no_grad();
        var hidden = model.HiddenStates(items.Select(i => i.Input).ToList());
        var result = new float[items.Count][][];
        var classifyRows = new List<int>();
        var classifyPooled = new List<Tensor>();
        long start = 0;
        for (int i = 0; i < items.Count; i++)
        {
            var ids = items[i].Input.TokenIds;
            var r = resolved[i];
            var rows = hidden.narrow(0, start, ids.Length);
            start += ids.Length;
            if (items[i].Task == PoolingTask.Embed && r.PoolingType == PoolingType.MEAN && model.InstructionLength(ids) is > 0 and var skip)
            {
                rows = rows.narrow(0, skip, ids.Length - skip);
                ids = ids[skip..];
            }
            var pooled = Pooler.Pool(rows, [ids], r.PoolingType, r.StepTagId, r.ReturnedTokenIds)[0];
            if (items[i].Task is PoolingTask.Classify or PoolingTask.Score)
            {
                classifyRows.Add(i);
                classifyPooled.Add(pooled);
                continue;
            }
            var x = Pooler.PostProcess(pooled, r.Dimensions, r.Normalize);
            if (r.PoolingType == PoolingType.STEP && r.Activation) x = torch.softmax(x, -1);
            result[i] = x.dim() == 1 ? [x.cpu().data<float>().ToArray()] : ToRows(x);
        }
        if (classifyRows.Count > 0)
        {
            var logits = model.ClassifierHead(torch.stack(classifyPooled));
            var activated = Pooler.Activate(logits);
            var raw = ToRows(logits);
            var act = ToRows(activated);
            for (int k = 0; k < classifyRows.Count; k++)
                result[classifyRows[k]] = [resolved[classifyRows[k]].Activation ? act[k] : raw[k]];
        }
        return result;
    }

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
