using Pipeline.Models.Runner;

namespace Pipeline.Actors.Engine;

/// <summary>
/// One engine iteration at a time (vLLM's EngineCore): schedule, execute the plan, fold the result back into
/// the scheduler. Owned by one thread (or actor); not thread-safe.
/// </summary>
public sealed class EngineCore(Scheduler scheduler, IModelExecutor executor)
{
    public Scheduler Scheduler { get; } = scheduler;
    public long StepCount { get; private set; }

    public void AddRequest(Request request) => Scheduler.AddRequest(request);

    public void Abort(IEnumerable<string> requestIds) => Scheduler.AbortRequests(requestIds);

    public void Finish(IEnumerable<string> requestIds, RequestStatus status) => Scheduler.FinishRequests(requestIds, status);

    public bool HasUnfinishedRequests => Scheduler.MakeStats() is { } s && s.NumRunningReqs + s.NumWaitingReqs > 0;

    /// <summary>Runs one step; returns the outputs of requests that produced tokens or finished.</summary>
    public IReadOnlyList<EngineCoreOutput> Step()
    {
        var plan = Scheduler.Schedule();
        if (plan.TotalNumScheduledTokens == 0 && plan.FinishedReqIds.Count == 0 && plan.PreemptedReqIds.Count == 0)
            return [];
        var result = executor.Execute(plan);
        StepCount++;
        return Scheduler.UpdateFromOutput(plan, result);
    }
}
