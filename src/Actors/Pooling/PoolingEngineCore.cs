using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Pooling;

/// <summary>
/// The engine-core half of a served pooling model: an <see cref="EngineCore"/> with the pooling policy (token budget,
/// max_num_seqs, policy order; no KV blocks; a failed step fails its own requests) and each request's caller. It hands out
/// steps and folds results back, but does not run them: its owner sends each plan to the device (the GPU worker actor) and
/// reports the outcome. Not thread-safe.
/// </summary>
public sealed class PoolingEngineCore(PoolingRunner runner, SchedulerConfig config)
{
    readonly EngineCore _core = new(new Scheduler(config), EngineCorePolicy.Pooling);
    readonly Dictionary<string, TaskCompletionSource<float[][]>> _callers = new();

    public Scheduler Scheduler => _core.Scheduler;
    /// <summary>Steps sent to the device and not yet reported, oldest first.</summary>
    public IReadOnlyCollection<EngineStep> InFlight => _core.InFlight;
    public bool IsInFlight(long stepId) => _core.IsInFlight(stepId);
    /// <summary>Steps that ran on the device and were folded back (not counting failed ones).</summary>
    public long Steps => _core.StepCount;
    public long FailedSteps => _core.FailedStepCount;
    /// <summary>Requests whose caller has not been answered.</summary>
    public int NumRequests => _callers.Count;

    /// <summary>Queues a request; a bad one fails <paramref name="done"/> with <see cref="PoolingException"/> at once.</summary>
    public void Add(string requestId, PoolingItem item, TaskCompletionSource<float[][]> done, int priority = 0)
    {
        try { PoolingEngine.AddTo(_core.Scheduler, runner, item, requestId, priority); }
        catch (PoolingException e) { done.TrySetException(e); return; }
        _callers[requestId] = done;
    }

    /// <summary>Aborts a request (unknown or answered ids are ignored); its caller is cancelled.</summary>
    public void Abort(string requestId)
    {
        if (!_callers.Remove(requestId, out var done)) return;
        _core.Abort([requestId]);
        done.TrySetCanceled();
    }

    /// <summary>The next step to run, or null while the step queue is full or there is nothing to do.</summary>
    public EngineStep? NextStep() => _core.NextStep();

    /// <summary>Step <paramref name="stepId"/> ran: answers its requests with their rows. False when the step was no longer in flight.</summary>
    public bool Complete(long stepId, ModelRunnerOutput output)
    {
        var result = _core.Complete(stepId, output);
        foreach (var o in result.Outputs)
        {
            if (!_callers.Remove(o.RequestId, out var done)) continue;
            if (o.PoolingOutput is { } rows) done.TrySetResult(rows);
            else done.TrySetException(new PoolingException($"request {o.RequestId} produced no pooled output"));
        }
        return !result.Ignored;
    }

    /// <summary>
    /// Step <paramref name="stepId"/> failed on the device: its requests end with <see cref="PipelineStageException"/>
    /// rather than being recomputed (a deterministic failure such as running out of memory would only repeat); others wait
    /// on. False when the step was no longer in flight.
    /// </summary>
    public bool Fail(long stepId, string reason)
    {
        var result = _core.Fail(stepId, reason);
        var error = new Exception(reason);
        foreach (var o in result.Outputs)
            if (_callers.Remove(o.RequestId, out var done)) done.TrySetException(new PipelineStageException("gpu", o.RequestId, error));
        return !result.Ignored;
    }

    /// <summary>Ends every unanswered request (the engine is stopping).</summary>
    public void FailAll(Exception error)
    {
        _core.Abort(_callers.Keys.ToList());
        foreach (var done in _callers.Values) done.TrySetException(error);
        _callers.Clear();
    }
}
