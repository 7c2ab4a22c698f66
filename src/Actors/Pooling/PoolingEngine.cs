using Pipeline.Actors.Engine;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Pooling;

/// <summary>
/// A pooling model behind the engine core: requests are checked against the model, scheduled by the same
/// <see cref="Scheduler"/> as generation (token budget, max_num_seqs, policy order; no KV blocks) and pooled by a
/// <see cref="PoolingModelRunner"/>. Plain and single-threaded, for offline use; servers run the same scheduling
/// through the actor stages (<see cref="AsyncPoolingEngine"/>).
/// </summary>
public sealed class PoolingEngine
{
    long _nextId;

    public PoolingEngine(PoolingRunner runner, SchedulerConfig config)
    {
        Runner = runner;
        Core = new EngineCore(new Scheduler(config), EngineCorePolicy.Pooling, new PoolingModelRunner(runner));
    }

    public PoolingRunner Runner { get; }
    public EngineCore Core { get; }

    /// <summary>
    /// Scheduler limits for a pooling model, as vLLM sets them: no chunked prefill, so one step's budget holds at least a
    /// whole max_model_len input; the KV cache is not used (one sequence's worth of blocks satisfies the config).
    /// </summary>
    /// <param name="asyncScheduling">Keep two steps in flight (pooling steps are independent, so the next one is planned while one runs).</param>
    public static SchedulerConfig ConfigFor(int maxModelLen, int? maxNumBatchedTokens = null, int maxNumSeqs = 256, string policy = "fcfs", bool asyncScheduling = false)
    {
        const int blockSize = 16;
        var config = new SchedulerConfig
        {
            MaxModelLen = maxModelLen,
            MaxNumBatchedTokens = maxNumBatchedTokens ?? Math.Max(maxModelLen, 2048),
            MaxNumSeqs = maxNumSeqs,
            BlockSize = blockSize,
            NumGpuBlocks = (maxModelLen + blockSize - 1) / blockSize,
            EnablePrefixCaching = false,
            EnableChunkedPrefill = false,
            Policy = policy switch
            {
                "fcfs" => SchedulingPolicy.Fcfs,
                "priority" => SchedulingPolicy.Priority,
                _ => throw new ArgumentException($"--scheduling-policy must be fcfs or priority, got '{policy}'"),
            },
            AsyncScheduling = asyncScheduling,
        };
        config.Validate();
        return config;
    }

    /// <summary>Queues one request; a bad one throws <see cref="PoolingException"/> naming the problem and is not queued.</summary>
    public string AddRequest(PoolingItem item, string? requestId = null, int priority = 0)
    {
        var id = requestId ?? "pool-" + Interlocked.Increment(ref _nextId);
        AddTo(Core.Scheduler, Runner, item, id, priority);
        return id;
    }

    /// <summary>Checks <paramref name="item"/> against the model and queues it; scheduler refusals become <see cref="PoolingException"/>.</summary>
    internal static void AddTo(Scheduler scheduler, PoolingRunner runner, PoolingItem item, string requestId, int priority = 0)
    {
        runner.Check(item);
        try { scheduler.AddRequest(Request.ForPooling(requestId, item, priority: priority)); }
        catch (ArgumentException e) { throw new PoolingException(e.Message); }
    }

    public IReadOnlyList<EngineCoreOutput> Step() => Core.Step();

    /// <summary>Offline use (vLLM's LLM.encode): runs the items through the engine to the end; rows per item, in order.</summary>
    public float[][][] Run(IReadOnlyList<PoolingItem> items)
    {
        for (int i = 0; i < items.Count; i++) Runner.Check(items[i], i);
        var ids = new List<string>(items.Count);
        try
        {
            foreach (var item in items) ids.Add(AddRequest(item));
        }
        catch
        {
            Core.Abort(ids);
            throw;
        }
        var results = new Dictionary<string, float[][]>();
        while (Core.HasUnfinishedRequests)
            foreach (var o in Step())
                results[o.RequestId] = o.PoolingOutput ?? throw new PoolingException($"request {o.RequestId} failed");
        return ids.Select(id => results[id]).ToArray();
    }
}
