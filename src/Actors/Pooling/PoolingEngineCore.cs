using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Pooling;

/// <summary>
/// The engine-core half of a served pooling model: the <see cref="Scheduler"/> (token budget, max_num_seqs, policy; no
/// KV blocks) and each request's caller. It plans one step at a time and folds the result back, but does not run the
/// step: its owner sends the plan to the device (the GPU worker actor) and reports the outcome. Not thread-safe.
/// </summary>
public sealed class PoolingEngineCore(PoolingRunner runner, SchedulerConfig config)
{
    readonly Scheduler _scheduler = new(config);
    readonly Dictionary<string, TaskCompletionSource<float[][]>> _callers = new();

    public Scheduler Scheduler => _scheduler;
    /// <summary>The step sent to the device and not yet reported, if any.</summary>
    public SchedulerOutput? InFlight { get; private set; }
    /// <summary>Steps that ran on the device and were folded back (not counting failed ones).</summary>
    public long Steps { get; private set; }
    public long FailedSteps { get; private set; }
    /// <summary>Requests whose caller has not been answered.</summary>
    public int NumRequests => _callers.Count;

    /// <summary>Queues a request; a bad one fails <paramref name="done"/> with <see cref="PoolingException"/> at once.</summary>
    public void Add(string requestId, PoolingItem item, TaskCompletionSource<float[][]> done, int priority = 0)
    {
        try { PoolingEngine.AddTo(_scheduler, runner, item, requestId, priority); }
        catch (PoolingException e) { done.TrySetException(e); return; }
        _callers[requestId] = done;
    }

    /// <summary>Aborts a request (unknown or answered ids are ignored); its caller is cancelled.</summary>
    public void Abort(string requestId)
    {
        if (!_callers.Remove(requestId, out var done)) return;
        _scheduler.AbortRequests([requestId]);
        done.TrySetCanceled();
    }

    /// <summary>The next step to run, or null while one is in flight or there is nothing to do.</summary>
    public SchedulerOutput? NextStep()
    {
        if (InFlight != null || (!_scheduler.HasUnfinishedRequests && !_scheduler.HasFinishedRequests)) return null;
        var plan = _scheduler.Schedule();
        if (plan.TotalNumScheduledTokens > 0) return InFlight = plan;
        // Only bookkeeping (finished ids): the pooling executor keeps no per-request state, so the device is not asked.
        _scheduler.UpdateFromOutput(plan, new ModelRunnerOutput());
        return null;
    }

    /// <summary>The in-flight step ran: answers its requests with their rows.</summary>
    public void Complete(ModelRunnerOutput output)
    {
        var plan = InFlight ?? throw new InvalidOperationException("no step is in flight");
        InFlight = null;
        Steps++;
        foreach (var o in _scheduler.UpdateFromOutput(plan, output))
        {
            if (!_callers.Remove(o.RequestId, out var done)) continue;
            if (o.PoolingOutput is { } rows) done.TrySetResult(rows);
            else done.TrySetException(new PoolingException($"request {o.RequestId} produced no pooled output"));
        }
    }

    /// <summary>
    /// The in-flight step failed on the device: its requests end with <see cref="PipelineStageException"/> rather
    /// than being recomputed (a deterministic failure such as running out of memory would only repeat); others wait on.
    /// </summary>
    public void Fail(string reason)
    {
        var plan = InFlight ?? throw new InvalidOperationException("no step is in flight");
        InFlight = null;
        FailedSteps++;
        var ids = plan.ScheduledNewReqs.Select(r => r.ReqId).ToList();
        _scheduler.FinishRequests(ids, RequestStatus.FinishedError);
        var error = new Exception(reason);
        foreach (var id in ids)
            if (_callers.Remove(id, out var done)) done.TrySetException(new PipelineStageException("gpu", id, error));
    }

    /// <summary>Ends every unanswered request (the engine is stopping).</summary>
    public void FailAll(Exception error)
    {
        _scheduler.AbortRequests(_callers.Keys.ToList());
        foreach (var done in _callers.Values) done.TrySetException(error);
        _callers.Clear();
    }
}
