using Pipeline.Actors.Stages;

namespace Pipeline.Streams;

/// <summary>Sizes and limits of the actor/stream pipeline. Every buffer is bounded by one of these.</summary>
public sealed record PipelineOptions
{
    /// <summary>Requests waiting to enter the pipeline; a full ingress makes submitters wait.</summary>
    public int IngressCapacity { get; init; } = 256;
    /// <summary>Tokenizer actors in the pool, and requests tokenized at once.</summary>
    public int TokenizerParallelism { get; init; } = 4;
    /// <summary>Preprocessor actors in the pool, and requests whose images are fetched and processed at once.</summary>
    public int PreprocessorParallelism { get; init; } = 4;
    /// <summary>Where images may come from, their size limits and the fetch timeout.</summary>
    public Pipeline.Actors.Multimodal.MediaOptions Media { get; init; } = Pipeline.Actors.Multimodal.MediaOptions.Default;
    /// <summary>Requests an engine core holds in its waiting queue before admission pauses (back-pressure).</summary>
    public int MaxWaitingPerReplica { get; init; } = 256;
    /// <summary>Retries of a request whose tokenizer or preprocessor crashed before it fails explicitly.</summary>
    public int StageRetries { get; init; } = 3;
    public TimeSpan StageTimeout { get; init; } = TimeSpan.FromSeconds(30);
    /// <summary>The pause of a stage actor restarted after crashes in a row (<see cref="Pipeline.Actors.Stages.BackoffStageActor"/>).</summary>
    public StageBackoffOptions StageBackoff { get; init; } = StageBackoffOptions.Default;
    public FaultInjector Faults { get; init; } = FaultInjector.None;
    /// <summary>Deadlines of device steps and what a hung step leads to (off by default for library use; `serve` turns it on).</summary>
    public Pipeline.Actors.Engine.StepWatchdogConfig StepWatchdog { get; init; } = Pipeline.Actors.Engine.StepWatchdogConfig.Off;
    /// <summary>Refuse a request at once (<see cref="EngineOverloadedException"/>) instead of waiting when the ingress is full.</summary>
    public bool RejectWhenFull { get; init; }
}
