using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class StopConditionTests
{
    static Scheduler NewScheduler(int maxLen = 64) => new(new SchedulerConfig { BlockSize = 4, NumGpuBlocks = 64, MaxModelLen = maxLen });

    /// <summary>Feeds <paramref name="tokens"/> one per step; returns the outputs until the request finishes.</summary>
    static List<EngineCoreOutput> Run(Scheduler s, Request r, params int[] tokens)
    {
        s.AddRequest(r);
        var outs = new List<EngineCoreOutput>();
        foreach (var t in tokens)
        {
            var o = Step(s, out _, t);
            outs.AddRange(o);
            if (r.IsFinished) break;
        }
        return outs;
    }

    [Fact]
    public void EosStops_WithNoStopReason()
    {
        var s = NewScheduler();
        var r = Req("a", 4, maxTokens: 10, ignoreEos: false, eos: [2, 9]);
        var outs = Run(s, r, 5, 6, 9, 7);
        Assert.Equal([5, 6, 9], r.OutputTokenIds);
        Assert.Equal(RequestStatus.FinishedStopped, r.Status);
        Assert.Null(r.StopReason);
        Assert.Equal(FinishReason.Stop, outs[^1].FinishReason);
        Assert.Equal([9], outs[^1].NewTokenIds);
        Assert.All(outs.Take(2), o => Assert.False(o.Finished));
        Assert.Equal(0, s.KvCacheUsage);
        Assert.Equal(["a"], s.Schedule().FinishedReqIds);
    }

    [Fact]
    public void IgnoreEos_KeepsGoingToMaxTokens()
    {
        var s = NewScheduler();
        var r = Req("a", 4, maxTokens: 4, ignoreEos: true, eos: [9]);
        var outs = Run(s, r, 9, 9, 9, 9, 9);
        Assert.Equal([9, 9, 9, 9], r.OutputTokenIds);
        Assert.Equal(RequestStatus.FinishedLength, r.Status);
        Assert.Equal(FinishReason.Length, outs[^1].FinishReason);
    }

    [Fact]
    public void MinTokens_SuppressesEosAndStopTokensUntilReached()
    {
        var s = NewScheduler();
        var r = Req("a", 4, maxTokens: 10, ignoreEos: false, eos: [9], minTokens: 3, stopTokenIds: [8]);
        Run(s, r, 9, 8, 9, 5);
        Assert.Equal([9, 8, 9], r.OutputTokenIds);
        Assert.Equal(RequestStatus.FinishedStopped, r.Status);
    }

    [Fact]
    public void StopTokenIds_SetStopReason()
    {
        var s = NewScheduler();
        var r = Req("a", 4, maxTokens: 10, stopTokenIds: [42, 43]);
        var outs = Run(s, r, 1, 43, 2);
        Assert.Equal([1, 43], r.OutputTokenIds);
        Assert.Equal(43, r.StopReason);
        Assert.Equal(43, outs[^1].StopReason);
        Assert.Equal(FinishReason.Stop, outs[^1].FinishReason);
    }

    [Fact]
    public void MaxTokens_FinishesWithLength()
    {
        var s = NewScheduler();
        var r = Req("a", 4, maxTokens: 2);
        Run(s, r, 1, 2, 3);
        Assert.Equal([1, 2], r.OutputTokenIds);
        Assert.Equal(RequestStatus.FinishedLength, r.Status);
        Assert.Null(r.StopReason);
    }

    [Fact]
    public void MaxModelLen_FinishesWithLength_EvenWithoutMaxTokens()
    {
        var s = NewScheduler(maxLen: 10);
        var r = new Request("a", [1, 2, 3, 4, 5, 6], new SamplingParams { MaxTokens = null }, [0]);
        Run(s, r, Enumerable.Repeat(7, 20).ToArray());
        Assert.Equal(4, r.NumOutputTokens);
        Assert.Equal(10, r.NumTokens);
        Assert.Equal(RequestStatus.FinishedLength, r.Status);
    }

    [Fact]
    public void ExtraSampledTokensAfterStopAreDropped()
    {
        var s = NewScheduler();
        var r = Req("a", 4, maxTokens: 10, stopTokenIds: [8]);
        s.AddRequest(r);
        var so = s.Schedule();
        var ro = Sampled(s, so);
        ro.SampledTokenIds[0] = [3, 8, 4]; // e.g. speculative tokens
        var outs = s.UpdateFromOutput(so, ro);
        Assert.Equal([3, 8], outs[0].NewTokenIds);
        Assert.Equal([3, 8], r.OutputTokenIds);
    }
}
