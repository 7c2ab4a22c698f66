using Pipeline.Actors.Pooling;
using Pipeline.Actors.Stages;
using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Pooling;
using TorchSharp;

namespace Pipeline.Actors.Tests.Pooling;

/// <summary>The pooling engine core driven by hand, without an actor system: plan, run elsewhere, fold back or fail.</summary>
public sealed class PoolingEngineCoreTests : IDisposable
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "pooling", "llama-embed");
    readonly IPoolingModel _model = PoolingModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, torch.CPU).Model;

    static PoolingItem Embed(params int[] ids) => new(new PoolingInput(ids), PoolingTask.Embed, PoolingParams.Default);
    static TaskCompletionSource<float[][]> Done() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [Fact]
    public async Task StepsFollowTheTokenBudgetAndAFailedStepFailsOnlyItsRequests()
    {
        var core = new PoolingEngineCore(new PoolingRunner(_model), PoolingEngine.ConfigFor(8, maxNumBatchedTokens: 8));
        var script = new ScriptedPoolingExecutor.Script();
        var device = script.Factory();
        var done = Enumerable.Range(0, 3).Select(_ => Done()).ToList();
        for (int i = 0; i < 3; i++) core.Add($"r{i}", Embed(1, 2, 3, 4), done[i]);

        var step = core.NextStep()!;
        Assert.Equal(["r0", "r1"], step.Plan.ScheduledNewReqs.Select(r => r.ReqId));
        Assert.Null(core.NextStep());
        core.Complete(step.StepId, device.Execute(step.Plan));
        Assert.Equal(4f, (await done[0].Task)[0][0]);
        Assert.Equal(4f, (await done[1].Task)[0][0]);

        step = core.NextStep()!;
        Assert.Equal(["r2"], step.Plan.ScheduledNewReqs.Select(r => r.ReqId));
        core.Fail(step.StepId, "device lost");
        var error = await Assert.ThrowsAsync<PipelineStageException>(() => done[2].Task);
        Assert.Contains("device lost", error.Message);
        Assert.Equal((1L, 1L, 0), (core.Steps, core.FailedSteps, core.NumRequests));
        Assert.False(core.Scheduler.HasUnfinishedRequests);
    }

    [Fact]
    public void ABadRequestFailsAtOnceAndAnAbortedOneNeverRuns()
    {
        var core = new PoolingEngineCore(new PoolingRunner(_model), PoolingEngine.ConfigFor(_model.MaxInputLength));
        var bad = Done();
        core.Add("bad", Embed(1, 99999), bad);
        Assert.Contains("outside the vocabulary", bad.Task.Exception!.InnerException!.Message);

        var aborted = Done();
        core.Add("a", Embed(1, 2), aborted);
        core.Abort("a");
        Assert.True(aborted.Task.IsCanceled);
        Assert.Equal(0, core.NumRequests);
        Assert.True(core.NextStep() is null or { Plan.ScheduledNewReqs.Count: 0 });
    }

    public void Dispose() => _model.Dispose();
}
