using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class RequestTests
{
    [Fact]
    public void NewRequestIsWaiting_AllTokenIdsIsPromptThenOutput()
    {
        var r = new Request("a", [4, 5, 6], new SamplingParams(), [2], arrivalTime: 3.5, priority: 1);
        Assert.Equal(RequestStatus.Waiting, r.Status);
        Assert.False(r.IsFinished);
        Assert.Null(r.FinishReason);
        Assert.Equal(3.5, r.ArrivalTime);
        r.AppendOutputToken(9);
        r.AppendOutputToken(8);
        Assert.Equal([4, 5, 6, 9, 8], r.AllTokenIds);
        Assert.Equal([9, 8], r.OutputTokenIds);
        Assert.Equal(5, r.NumTokens);
        Assert.Equal(3, r.NumPromptTokens);
        Assert.Equal(2, r.NumOutputTokens);
        Assert.True(new Request("b", [1], new SamplingParams()).ArrivalTime > 1.7e9);
    }

    [Fact]
    public void StatusHelpers()
    {
        Assert.False(RequestStatus.Preempted.IsFinished());
        Assert.True(RequestStatus.FinishedAborted.IsFinished());
        Assert.Equal(FinishReason.Length, RequestStatus.FinishedLength.ToFinishReason());
        Assert.Equal("abort", FinishReason.Abort.ToApiString());
        Assert.Null(RequestStatus.Running.ToFinishReason());
    }

    [Fact]
    public void LogprobsAreForwarded_AndPromptLogprobsDisablePrefixCacheHits()
    {
        var s = new Scheduler(new SchedulerConfig { BlockSize = 4, NumGpuBlocks = 32, MaxModelLen = 64 });
        var prompt = Enumerable.Range(1, 12).ToArray();
        s.AddRequest(Req("warm", prompt));
        Step(s, out _);
        var r = new Request("a", prompt, new SamplingParams { Logprobs = 2, PromptLogprobs = 1, MaxTokens = 3 }, [0]);
        s.AddRequest(r);
        var so = s.Schedule();
        Assert.Equal(0, so.ScheduledNewReqs.Single(n => n.ReqId == "a").NumComputedTokens);
        var ro = Sampled(s, so);
        int i = ro.ReqIds.IndexOf("a");
        var lp = new TokenLogprobs(5, -0.5f, 1, [(5, -0.5f), (6, -1f)]);
        var plp = prompt.Skip(1).Select(t => new TokenLogprobs(t, -2f, 3, [])).ToArray();
        ro.Logprobs[i] = [lp];
        ro.PromptLogprobs[i] = plp;
        var o = s.UpdateFromOutput(so, ro).Single(x => x.RequestId == "a");
        Assert.Equal([5], o.NewTokenIds);
        Assert.Same(lp, Assert.Single(o.NewLogprobs!));
        Assert.Equal(plp, o.NewPromptLogprobs);
    }
}
