using Pipeline.Actors.Engine;
using Pipeline.Actors.Tests.Pooling;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>The engine-core loop driven by hand, with <see cref="FakeModelRunner"/> as the device: Admit, NextStep, Complete, Fail.</summary>
public class EngineCoreTests
{
    const int Vocab = 50, BlockSize = 4;

    static EngineCore NewCore(bool async, int blocks = 64, EngineCorePolicy? policy = null) => new(new Scheduler(new SchedulerConfig
    {
        BlockSize = BlockSize, NumGpuBlocks = blocks, MaxModelLen = 64, MaxNumBatchedTokens = 64, AsyncScheduling = async,
    }), policy ?? EngineCorePolicy.Generation);

    [Fact]
    public void WithOneStepInFlight_TheNextIsPlannedOnlyAfterTheResult()
    {
        var core = NewCore(async: false);
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        core.Admit(Req("a", 6, maxTokens: 3));
        core.Admit(Req("b", 5, maxTokens: 3, start: 100));
        Assert.Equal(1, core.MaxInFlightSteps);

        var s1 = core.NextStep()!;
        Assert.Equal(1, s1.StepId);
        Assert.Equal(["a", "b"], s1.Plan.ScheduledNewReqs.Select(r => r.ReqId));
        Assert.Null(core.NextStep());
        var result = core.Complete(s1.StepId, runner.Execute(s1.Plan));
        Assert.False(result.Ignored);
        Assert.Equal(["a", "b"], result.Outputs.Select(o => o.RequestId));
        Assert.All(result.Outputs, o => Assert.Single(o.NewTokenIds));

        var s2 = core.NextStep()!;
        Assert.Equal(2, s2.StepId);
        Assert.Equal(["a", "b"], s2.Plan.ScheduledCachedReqs.ReqIds);
        Assert.Equal(1, core.StepCount);
    }

    [Fact]
    public void WithAsyncScheduling_TheNextDecodeIsPlannedWhileTheStepBeforeItRuns()
    {
        var core = NewCore(async: true);
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        var a = Req("a", 6, maxTokens: 4);
        core.Admit(a);
        Assert.Equal(2, core.MaxInFlightSteps);

        var s1 = core.NextStep()!;
        var s2 = core.NextStep()!;
        Assert.Null(core.NextStep()); // two in flight: the queue is full
        Assert.True(core.IsInFlight(s1.StepId) && core.IsInFlight(s2.StepId) && !core.IsInFlight(3));
        Assert.Equal(6, s1.Plan.NumScheduledTokens["a"]);
        Assert.Equal(["a"], s2.Plan.ScheduledCachedReqs.ReqIds);
        Assert.Equal(6, s2.Plan.ScheduledCachedReqs.NumComputedTokens[0]); // starts at the token step 1 samples
        Assert.Equal(1, s2.Plan.NumScheduledTokens["a"]);
        Assert.Equal(2, a.NumOutputPlaceholders);
        Assert.Equal(0, a.NumComputedTokens); // nothing folded back yet
        Assert.Equal(7, a.NumInFlightTokens);

        var out1 = runner.Execute(s1.Plan);
        var out2 = runner.Execute(s2.Plan); // the device runs them in order
        Assert.Throws<InvalidOperationException>(() => core.Complete(s2.StepId, out2)); // out of order
        Assert.Throws<ArgumentOutOfRangeException>(() => core.Complete(99, out1)); // never handed out
        var r1 = core.Complete(s1.StepId, out1);
        Assert.Equal([out1.SampledTokenIds[0][0]], Assert.Single(r1.Outputs).NewTokenIds);
        Assert.True(core.Complete(s1.StepId, out1).Ignored); // already folded back
        Assert.True(core.Fail(s1.StepId, "late").Ignored);

        var s3 = core.NextStep()!; // planned while step 2 runs
        Assert.Equal(7, s3.Plan.ScheduledCachedReqs.NumComputedTokens[0]);
        var out3 = runner.Execute(s3.Plan);
        Assert.Single(Assert.Single(core.Complete(s2.StepId, out2).Outputs).NewTokenIds);
        Assert.Single(Assert.Single(core.Complete(s3.StepId, out3).Outputs).NewTokenIds);
        Assert.Equal(3, a.NumOutputTokens);
        Assert.Equal((0, 0, 9), (a.NumOutputPlaceholders, a.NumInFlightTokens, a.NumTokens));
    }

    [Fact]
    public void MaxTokensAreKnownAhead_NoPlaceholderIsScheduledPastThem()
    {
        var core = NewCore(async: true);
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        core.Admit(Req("one", 6, maxTokens: 1));
        var s1 = core.NextStep()!;
        Assert.Null(core.NextStep()); // its only token is sampled by step 1
        var done = Assert.Single(core.Complete(s1.StepId, runner.Execute(s1.Plan)).Outputs);
        Assert.Equal(FinishReason.Length, done.FinishReason);

        core.Admit(Req("two", 6, maxTokens: 2, start: 100));
        var s2 = core.NextStep()!;
        Assert.Equal(["one"], s2.Plan.FinishedReqIds);
        var s3 = core.NextStep()!;
        Assert.Equal(1, s3.Plan.NumScheduledTokens["two"]);
        core.Complete(s2.StepId, runner.Execute(s2.Plan));
        Assert.Null(core.NextStep()); // the second token is in flight: nothing more to plan
        var last = Assert.Single(core.Complete(s3.StepId, runner.Execute(s3.Plan)).Outputs);
        Assert.Equal(FinishReason.Length, last.FinishReason);
        Assert.Equal(0, core.Scheduler.KvCacheUsage);
    }

    [Fact]
    public void AStopTokenWhileTheNextStepRuns_DiscardsTheExtraTokenAndTellsTheRunnerToDropIt()
    {
        var core = NewCore(async: true);
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        var prompt = Enumerable.Range(1, 6).ToArray();
        int first = FakeModelRunner.Sample(prompt, Vocab);
        var r = new Request("a", prompt, new SamplingParams { MaxTokens = 10 }, eosTokenIds: [first]);
        core.Admit(r);
        var s1 = core.NextStep()!;
        var s2 = core.NextStep()!;
        Assert.Equal(1, s2.Plan.NumScheduledTokens["a"]);

        var o1 = Assert.Single(core.Complete(s1.StepId, runner.Execute(s1.Plan)).Outputs);
        Assert.Equal([first], o1.NewTokenIds);
        Assert.Equal(FinishReason.Stop, o1.FinishReason);
        Assert.Equal(0, core.Scheduler.KvCacheUsage); // freed at once
        var s3 = core.NextStep()!; // planned while step 2 still computes the extra token
        Assert.Equal(["a"], s3.Plan.FinishedReqIds);

        Assert.Empty(core.Complete(s2.StepId, runner.Execute(s2.Plan)).Outputs); // the extra token is never emitted
        core.Complete(s3.StepId, runner.Execute(s3.Plan));
        Assert.Equal([first], r.OutputTokenIds);
        Assert.Equal(0, core.NumInFlight);
        Assert.Null(core.NextStep());
    }

    [Fact]
    public void AbortAndStopStringWhileTwoStepsAreInFlight_NoMoreOutputsAndBlocksFreedOnce()
    {
        var core = NewCore(async: true);
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        core.Admit(Req("abort", 6, maxTokens: 10));
        core.Admit(Req("stop", 5, maxTokens: 10, start: 100));
        core.Admit(Req("keep", 7, maxTokens: 3, start: 200));
        var s1 = core.NextStep()!;
        var s2 = core.NextStep()!;
        core.Abort(["abort"]);
        core.Finish(["stop"], RequestStatus.FinishedStopped);
        core.Abort(["abort"]); // twice: ignored
        CheckInvariants(core.Scheduler);
        Assert.Equal(["keep"], core.Complete(s1.StepId, runner.Execute(s1.Plan)).Outputs.Select(o => o.RequestId));
        var s3 = core.NextStep()!;
        Assert.Equal(["abort", "stop"], s3.Plan.FinishedReqIds.Order());
        Assert.Equal(["keep"], core.Complete(s2.StepId, runner.Execute(s2.Plan)).Outputs.Select(o => o.RequestId));
        var last = Assert.Single(core.Complete(s3.StepId, runner.Execute(s3.Plan)).Outputs);
        Assert.Equal(FinishReason.Length, last.FinishReason);
        Assert.Empty(RunToEnd(core, runner)); // only reports the finished ids to the runner
        Assert.False(core.Scheduler.HasFinishedRequests);
        Assert.Equal(0, core.Scheduler.KvCacheUsage);
        Assert.Equal(core.Scheduler.KVCacheManager.BlockPool.NumGpuBlocks, core.Scheduler.KVCacheManager.NumFreeBlocks);
        CheckInvariants(core.Scheduler);
    }

    [Fact]
    public void AGenerationStepFailure_DropsEveryStepInFlightAndRecomputesAllRunning()
    {
        var core = NewCore(async: true);
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        var requests = new[] { Req("a", 6, maxTokens: 5), Req("b", 9, maxTokens: 4, start: 100) };
        var solo = requests.ToDictionary(r => r.RequestId, r => SoloTokens(r));
        foreach (var r in requests) core.Admit(r);
        var s1 = core.NextStep()!;
        var s2 = core.NextStep()!;
        var failed = core.Fail(s1.StepId, "worker crashed");
        Assert.False(failed.Ignored);
        Assert.Empty(failed.Outputs);
        Assert.Equal(0, core.NumInFlight);
        Assert.Equal(2, core.Scheduler.NumWaiting);
        Assert.Equal(0, core.Scheduler.KvCacheUsage);
        Assert.True(core.Complete(s2.StepId, new ModelRunnerOutput()).Ignored); // dropped with it
        Assert.True(core.Fail(s2.StepId, "again").Ignored);
        Assert.Equal(1, core.FailedStepCount);

        runner = new FakeModelRunner(64, BlockSize, Vocab); // the restarted worker knows nothing
        var streamed = RunToEnd(core, runner);
        foreach (var r in requests) Assert.Equal(solo[r.RequestId], streamed[r.RequestId]);
        Assert.Equal(0, core.Scheduler.KvCacheUsage);
    }

    [Fact]
    public void AGenerationStepThatKeepsFailing_EndsItsRequestsWithAnError_AfterMaxConsecutiveFailures()
    {
        var core = NewCore(async: false);
        core.Admit(Req("a", 6, maxTokens: 5));
        core.Admit(Req("b", 9, maxTokens: 4, start: 100));
        for (int attempt = 1; attempt < EngineCorePolicy.Generation.MaxConsecutiveStepFailures; attempt++)
        {
            var step = core.NextStep()!;
            Assert.Empty(core.Fail(step.StepId, "kernel error").Outputs); // recomputed
            Assert.Equal(2, core.Scheduler.NumWaiting);
        }
        var last = core.NextStep()!;
        var failed = core.Fail(last.StepId, "kernel error");
        Assert.Equal(["a", "b"], failed.Outputs.Select(o => o.RequestId).Order());
        Assert.All(failed.Outputs, o => Assert.Equal(FinishReason.Error, o.FinishReason));
        Assert.False(core.HasUnfinishedRequests);
        Assert.Equal(0, core.Scheduler.KvCacheUsage);
        Assert.Equal(core.Scheduler.KVCacheManager.BlockPool.NumGpuBlocks, core.Scheduler.KVCacheManager.NumFreeBlocks);
        Assert.Null(core.NextStep());
    }

    [Fact]
    public void ACompletedStepResetsTheFailureCount_TransientFaultsNeverFailARequest()
    {
        var core = NewCore(async: false);
        var req = Req("a", 6, maxTokens: 6);
        var solo = SoloTokens(req);
        core.Admit(req);
        var streamed = new List<int>();
        var runner = new FakeModelRunner(64, BlockSize, Vocab);
        // Every other step fails: six failures in all, never two in a row, so the request is only recomputed.
        for (int i = 0; core.HasUnfinishedRequests || core.Scheduler.HasFinishedRequests; i++)
        {
            var step = core.NextStep();
            if (step == null) break;
            if (i % 2 == 0 && step.Plan.TotalNumScheduledTokens > 0)
            {
                Assert.Empty(core.Fail(step.StepId, "transient").Outputs);
                runner = new FakeModelRunner(64, BlockSize, Vocab); // the restarted worker knows nothing
                continue;
            }
            foreach (var o in core.Complete(step.StepId, runner.Execute(step.Plan)).Outputs)
            {
                Assert.NotEqual(FinishReason.Error, o.FinishReason);
                streamed.AddRange(o.NewTokenIds);
            }
        }
        Assert.True(core.FailedStepCount >= 3, $"{core.FailedStepCount} failed steps");
        Assert.Equal(solo, streamed);
        Assert.Equal(0, core.Scheduler.KvCacheUsage);
    }

    [Fact]
    public void APoolingStepFailure_FailsOnlyItsRequests_TheOtherStepInFlightStands()
    {
        var core = new EngineCore(new Scheduler(Pipeline.Actors.Pooling.PoolingEngine.ConfigFor(8, maxNumBatchedTokens: 8, asyncScheduling: true)), EngineCorePolicy.Pooling);
        var device = new ScriptedPoolingExecutor.Script().Factory();
        for (int i = 0; i < 3; i++)
            core.Admit(Request.ForPooling($"r{i}", new PoolingItem(new PoolingInput([1, 2, 3, 4 + i]), PoolingTask.Embed, PoolingParams.Default)));
        var s1 = core.NextStep()!;
        var s2 = core.NextStep()!;
        Assert.Equal(["r0", "r1"], s1.Plan.ScheduledNewReqs.Select(r => r.ReqId));
        Assert.Equal(["r2"], s2.Plan.ScheduledNewReqs.Select(r => r.ReqId));
        Assert.Null(core.NextStep());

        var failed = core.Fail(s1.StepId, "out of memory");
        Assert.Equal(["r0", "r1"], failed.Outputs.Select(o => o.RequestId));
        Assert.All(failed.Outputs, o => Assert.Equal(FinishReason.Error, o.FinishReason));
        Assert.Equal(1, core.NumInFlight);
        var done = Assert.Single(core.Complete(s2.StepId, device.Execute(s2.Plan)).Outputs);
        Assert.Equal("r2", done.RequestId);
        Assert.Equal(4f, done.PoolingOutput![0][0]);
        Assert.False(core.HasUnfinishedRequests);
        Assert.Null(core.NextStep()); // finished ids need no device step for pooling
        Assert.False(core.Scheduler.HasFinishedRequests);
    }

    [Fact]
    public void StepNeedsAnExecutor()
    {
        var core = NewCore(async: false);
        core.Admit(Req("a", 4));
        Assert.Throws<InvalidOperationException>(() => core.Step());
    }

    static List<int> SoloTokens(Request template)
    {
        var core = NewCore(async: false);
        var r = template.CloneAs(template.RequestId, template.SamplingParams);
        core.Admit(r);
        RunToEnd(core, new FakeModelRunner(64, BlockSize, Vocab));
        return r.OutputTokenIds.ToList();
    }

    /// <summary>Emulates the device: runs handed-out steps in order, keeping the loop's queue full.</summary>
    internal static Dictionary<string, List<int>> RunToEnd(EngineCore core, IModelExecutor device)
    {
        var streamed = new Dictionary<string, List<int>>();
        var queue = new Queue<EngineStep>();
        for (int guard = 0; ; guard++)
        {
            Assert.True(guard < 10_000, "no progress");
            while (core.NextStep() is { } s) queue.Enqueue(s);
            if (queue.Count == 0) break;
            var step = queue.Dequeue();
            foreach (var o in core.Complete(step.StepId, device.Execute(step.Plan)).Outputs)
            {
                if (!streamed.TryGetValue(o.RequestId, out var list)) streamed[o.RequestId] = list = new();
                list.AddRange(o.NewTokenIds);
            }
            CheckInvariants(core.Scheduler);
        }
        return streamed;
    }
}
