using Pipeline.Models.Runner;

namespace Pipeline.Actors.Tests.Pooling;

/// <summary>
/// A stand-in device for pooling steps: each request's one row is [its token count]. A step can be held until the
/// test releases it (<see cref="Hold"/>), and the shared <see cref="Script"/> can make a step throw once.
/// </summary>
sealed class ScriptedPoolingExecutor(ScriptedPoolingExecutor.Script script) : IModelExecutor, IDisposable
{
    public sealed class Script
    {
        public int Created;
        public int Disposed;
        public int Steps;
        /// <summary>1-based step that throws (0: none).</summary>
        public int ThrowOnStep;
        /// <summary>When set, every step waits for one release first (and signals <see cref="Entered"/>).</summary>
        public SemaphoreSlim? Hold;
        public readonly SemaphoreSlim Entered = new(0);
        public readonly List<int> BatchSizes = new();

        public Func<IModelExecutor> Factory => () => { Interlocked.Increment(ref Created); return new ScriptedPoolingExecutor(this); };
    }

    public ModelRunnerOutput Execute(SchedulerOutput plan)
    {
        var output = new ModelRunnerOutput();
        if (plan.ScheduledNewReqs.Count == 0) return output;
        int step = Interlocked.Increment(ref script.Steps);
        lock (script.BatchSizes) script.BatchSizes.Add(plan.ScheduledNewReqs.Count);
        script.Entered.Release();
        script.Hold?.Wait(TimeSpan.FromSeconds(30));
        if (step == script.ThrowOnStep) throw new InvalidOperationException($"device fault in step {step}");
        foreach (var r in plan.ScheduledNewReqs)
        {
            output.ReqIds.Add(r.ReqId);
            output.SampledTokenIds.Add([]);
            output.PoolerOutput.Add([[r.PromptTokenIds.Count]]);
        }
        return output;
    }

    public void Dispose() => Interlocked.Increment(ref script.Disposed);
}
