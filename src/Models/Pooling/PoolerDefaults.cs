namespace Pipeline.Models.Pooling;

/// <summary>
/// The model-level pooler config for a task, as vLLM picks it: task defaults (embed: LAST + normalize for decoders,
/// CLS + normalize for encoders; classify/score: the head's own pooling + activation; reward: the model's, ALL unless it
/// is a process reward model (STEP)), then the
/// model's sentence-transformers files (embed only), then --override-pooler-config.
/// </summary>
public static class PoolerDefaults
{
    public static PoolerConfig For(PoolingTask task, bool isEncoder, PoolingType classifierPooling, string? modelDir = null, PoolerConfig? overrides = null,
        PoolingType rewardPooling = PoolingType.ALL, PoolingType? embedPooling = null)
    {
        var c = task switch
        {
            PoolingTask.Embed => new PoolerConfig { PoolingType = embedPooling ?? (isEncoder ? PoolingType.CLS : PoolingType.LAST), Normalize = true },
            PoolingTask.Classify or PoolingTask.Score => new PoolerConfig { PoolingType = classifierPooling, Activation = true },
            PoolingTask.Reward => new PoolerConfig { PoolingType = rewardPooling, Normalize = false, Activation = false },
            _ => throw new PoolingException($"unknown pooling task {task}"),
        };
        if (task == PoolingTask.Embed && modelDir != null && SentenceTransformersConfig.Load(modelDir) is { } st)
            c = c.OverrideWith(st);
        return c.OverrideWith(overrides);
    }
}
