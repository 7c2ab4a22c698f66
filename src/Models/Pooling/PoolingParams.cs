namespace Pipeline.Models.Pooling;

/// <summary>
/// Per-request pooling parameters (vLLM's PoolingParams). Unset fields take the model's pooler config.
/// </summary>
public sealed record PoolingParams
{
    public PoolingType? PoolingType { get; init; }
    public int? Dimensions { get; init; }
    public bool? Normalize { get; init; }
    public bool? Softmax { get; init; }
    public bool? Activation { get; init; }
    public int? StepTagId { get; init; }
    public int[]? ReturnedTokenIds { get; init; }

    public static readonly PoolingParams Default = new();

    /// <summary>These parameters over the model's pooler config, checked against the model's output width.</summary>
    /// <param name="matryoshkaDimensions">config.json's matryoshka_dimensions, when the model lists the sizes it was trained for.</param>
    public ResolvedPooling Resolve(PoolerConfig model, PoolingTask task, int hiddenSize, IReadOnlyList<int>? matryoshkaDimensions = null)
    {
        var c = model.OverrideWith(new PoolerConfig
        {
            PoolingType = PoolingType, Dimensions = Dimensions, Normalize = Normalize, Softmax = Softmax,
            Activation = Activation, StepTagId = StepTagId, ReturnedTokenIds = ReturnedTokenIds,
        });
        // Per request, an explicit 'softmax' or 'activation' wins over the model's; both given must agree.
        bool? reqAct = (Softmax, Activation) switch
        {
            (bool s, bool a) when s != a => throw new PoolingException($"pooling params: 'softmax' ({s}) and 'activation' ({a}) disagree; set one"),
            (bool s, _) => s,
            (_, bool a) => a,
            _ => null,
        };
        bool activation = reqAct ?? c.Activation ?? c.Softmax ?? false;
        if (c.Dimensions is int d)
        {
            if (task is not PoolingTask.Embed)
                throw new PoolingException($"pooling params: 'dimensions' applies only to embed, not {task.ToString().ToLowerInvariant()}");
            if (d <= 0 || d > hiddenSize)
                throw new PoolingException($"pooling params: 'dimensions' must be between 1 and the model's hidden size {hiddenSize}, got {d}");
            if (matryoshkaDimensions is { Count: > 0 } && !matryoshkaDimensions.Contains(d))
                throw new PoolingException($"pooling params: 'dimensions' {d} is not one of the model's matryoshka_dimensions [{string.Join(", ", matryoshkaDimensions)}]");
        }
        if (c.ReturnedTokenIds is { } ids)
            foreach (var id in ids)
                if (id < 0 || id >= hiddenSize)
                    throw new PoolingException($"pooling params: 'returned_token_ids' entry {id} is outside [0, {hiddenSize})");
        return new ResolvedPooling(
            c.PoolingType ?? throw new PoolingException("pooling params: no 'pooling_type' set and the model has no default"),
            c.Normalize ?? false, activation, c.Dimensions, c.StepTagId, c.ReturnedTokenIds);
    }
}

/// <summary>Pooling settings with every default applied.</summary>
public sealed record ResolvedPooling(PoolingType PoolingType, bool Normalize, bool Activation, int? Dimensions, int? StepTagId, int[]? ReturnedTokenIds);
