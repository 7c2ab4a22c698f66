using Pipeline.Models.Pooling;

namespace Pipeline.Models.Runner;

/// <summary>
/// The executor of a pooling model: every request in a step plan is new and complete (no KV cache, nothing kept
/// between steps), so one forward over all of them gives each its pooled rows.
/// </summary>
public sealed class PoolingModelRunner(PoolingRunner runner) : IModelExecutor
{
    public PoolingRunner Runner => runner;

    public ModelRunnerOutput Execute(SchedulerOutput plan)
    {
        var output = new ModelRunnerOutput();
        if (plan.ScheduledCachedReqs.Count > 0)
            throw new InvalidOperationException($"a pooling model cannot continue requests across steps ({string.Join(", ", plan.ScheduledCachedReqs.ReqIds)})");
        var reqs = plan.ScheduledNewReqs;
        if (reqs.Count == 0) return output;
        var rows = runner.Run(reqs.Select(r => r.Pooling ?? throw new InvalidOperationException($"request {r.ReqId} is not a pooling request")).ToList());
        for (int i = 0; i < reqs.Count; i++)
        {
            output.ReqIds.Add(reqs[i].ReqId);
            output.SampledTokenIds.Add([]);
            output.PoolerOutput.Add(rows[i]);
        }
        return output;
    }
}
