namespace Pipeline.Actors.Engine;

/// <summary>A snapshot of the scheduler's counters for metrics (vLLM's SchedulerStats).</summary>
public sealed record SchedulerStats(
    int NumRunningReqs,
    int NumWaitingReqs,
    /// <summary>Fraction of KV blocks in use, in [0, 1].</summary>
    double KvCacheUsage,
    long NumPreemptionsTotal,
    long PrefixCacheRequests,
    long PrefixCacheQueries,
    long PrefixCacheHits,
    long NumFinishedTotal,
    /// <summary>Unfinished requests per LoRA adapter name, running and waiting (vLLM's lora stats); empty without LoRA.</summary>
    IReadOnlyDictionary<string, int>? RunningLoraAdapters = null,
    IReadOnlyDictionary<string, int>? WaitingLoraAdapters = null);
