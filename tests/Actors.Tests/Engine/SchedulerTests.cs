using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class SchedulerTests
{
    static Scheduler NewScheduler(int budget = 64, int blocks = 64, int maxSeqs = 16, int maxLen = 128, bool caching = true,
        bool chunked = true, SchedulingPolicy policy = SchedulingPolicy.Fcfs, int? longPrefill = null) =>
        new(new SchedulerConfig
        {
            BlockSize = 4, NumGpuBlocks = blocks, MaxModelLen = maxLen, MaxNumBatchedTokens = budget, MaxNumSeqs = maxSeqs,
            EnablePrefixCaching = caching, EnableChunkedPrefill = chunked, Policy = policy, LongPrefillTokenThreshold = longPrefill,
        });

    [Fact]
    public void TokenBudgetIsRespectedEveryStep()
    {
        var s = NewScheduler(budget: 32, blocks: 256);
        for (int i = 0; i < 10; i++) s.AddRequest(Req($"r{i}", 10 + 7 * i, maxTokens: 5, start: 1000 * i));
        int steps = 0;
        while (s.HasUnfinishedRequests)
        {
            Step(s, out var so);
            Assert.InRange(so.TotalNumScheduledTokens, 1, 32);
            Assert.Equal(so.NumScheduledTokens.Values.Sum(), so.TotalNumScheduledTokens);
            CheckInvariants(s);
            Assert.True(++steps < 500);
        }
        Assert.Equal(10, s.NumFinishedTotal);
    }

    [Fact]
    public void DecodesAreScheduledBeforePrefills()
    {
        var s = NewScheduler(budget: 16);
        s.AddRequest(Req("a", 8, maxTokens: 10));
        Step(s, out _);
        s.AddRequest(Req("b", 40, start: 500));
        var so = s.Schedule();
        Assert.Equal(["a", "b"], so.NumScheduledTokens.Keys);
        Assert.Equal(1, so.NumScheduledTokens["a"]);
        Assert.Equal(15, so.NumScheduledTokens["b"]);
        Assert.Equal(["a"], so.ScheduledCachedReqs.ReqIds);
        Assert.Equal("b", Assert.Single(so.ScheduledNewReqs).ReqId);
    }

    [Fact]
    public void ChunkedPrefillSplitsLongPromptAcrossSteps()
    {
        var s = NewScheduler(budget: 32);
        s.AddRequest(Req("a", 100, maxTokens: 3));
        var expected = new[] { 32, 32, 32, 4 };
        for (int i = 0; i < expected.Length; i++)
        {
            var so = s.Schedule();
            Assert.Equal(expected[i], so.NumScheduledTokens["a"]);
            if (i == 0)
            {
                var nr = Assert.Single(so.ScheduledNewReqs);
                Assert.Equal(0, nr.NumComputedTokens);
                Assert.Equal(8, nr.BlockIds.Count);
            }
            else
            {
                Assert.Empty(so.ScheduledNewReqs);
                Assert.Equal(32 * i, so.ScheduledCachedReqs.NumComputedTokens[0]);
                Assert.Equal(i < 3 ? 8 : 1, so.ScheduledCachedReqs.NewBlockIds[0].Count); // only the new blocks
            }
            var outs = s.UpdateFromOutput(so, Sampled(s, so));
            Assert.Equal(Math.Min(100, 32 * (i + 1)), s.GetRequest("a")!.NumComputedTokens);
            Assert.Equal(i == 3 ? 1 : 0, outs.Count); // a token only once the prompt is done
        }
        Assert.Equal(1, s.GetRequest("a")!.NumOutputTokens);
        Assert.Equal(1, s.Schedule().NumScheduledTokens["a"]);
    }

    [Fact]
    public void LongPrefillThresholdCapsChunks()
    {
        var s = NewScheduler(budget: 64, longPrefill: 10);
        s.AddRequest(Req("a", 25));
        s.AddRequest(Req("b", 5, start: 100));
        var so = s.Schedule();
        Assert.Equal(10, so.NumScheduledTokens["a"]);
        Assert.Equal(5, so.NumScheduledTokens["b"]);
    }

    [Fact]
    public void WithoutChunkedPrefill_APromptWaitsForAWholeBudget()
    {
        var s = NewScheduler(budget: 128, chunked: false);
        s.AddRequest(Req("a", 100));
        s.AddRequest(Req("b", 50, start: 500));
        var so = s.Schedule();
        Assert.Equal(["a"], so.NumScheduledTokens.Keys);
        s.UpdateFromOutput(so, Sampled(s, so));
        so = s.Schedule();
        Assert.Equal(["a", "b"], so.NumScheduledTokens.Keys);
        Assert.Equal(50, so.NumScheduledTokens["b"]);
    }

    [Fact]
    public void MaxNumSeqsIsRespected()
    {
        var s = NewScheduler(maxSeqs: 2);
        for (int i = 0; i < 5; i++) s.AddRequest(Req($"r{i}", 4, maxTokens: 2, start: 100 * i));
        var so = s.Schedule();
        Assert.Equal(["r0", "r1"], so.NumScheduledTokens.Keys);
        Assert.Equal(2, s.NumRunning);
        Assert.Equal(3, s.NumWaiting);
        s.UpdateFromOutput(so, Sampled(s, so));
        while (s.HasUnfinishedRequests)
        {
            Step(s, out so);
            Assert.True(so.NumScheduledTokens.Count <= 2);
            Assert.True(s.NumRunning <= 2);
        }
    }

    [Fact]
    public void PreemptionWhenBlocksRunOut_ResumesAsNewWithRecompute()
    {
        // 8 blocks of 4 tokens; two requests of 12 prompt tokens growing to 32.
        var s = NewScheduler(blocks: 8, maxLen: 32, caching: false);
        s.AddRequest(Req("a", 12, maxTokens: 20));
        s.AddRequest(Req("b", 12, maxTokens: 20, start: 100));
        SchedulerOutput? preemptStep = null;
        int steps = 0;
        while (preemptStep == null)
        {
            var so = s.Schedule();
            if (so.PreemptedReqIds.Count > 0) preemptStep = so;
            s.UpdateFromOutput(so, Sampled(s, so));
            CheckInvariants(s);
            Assert.True(++steps < 100);
        }
        Assert.Equal(["b"], preemptStep.PreemptedReqIds); // fcfs: the last running
        Assert.Equal(["a"], preemptStep.NumScheduledTokens.Keys);
        var b = s.GetRequest("b")!;
        Assert.Equal(RequestStatus.Preempted, b.Status);
        Assert.Equal(0, b.NumComputedTokens);
        Assert.Equal(1, b.NumPreemptions);
        Assert.Equal(1, s.NumPreemptionsTotal);
        Assert.Empty(s.KVCacheManager.GetBlockIds("b"));
        int bTokens = b.NumTokens;

        while (s.GetRequest("a") != null) Step(s, out _);
        var resume = s.Schedule();
        var nr = Assert.Single(resume.ScheduledNewReqs);
        Assert.Equal("b", nr.ReqId);
        Assert.Equal(0, nr.NumComputedTokens);
        Assert.Equal(bTokens, nr.AllTokenIds.Count);
        Assert.Equal(bTokens - 12, nr.NumOutputTokens);
        Assert.Equal(bTokens, resume.NumScheduledTokens["b"]); // recompute prompt and outputs
        Assert.Equal(RequestStatus.Running, b.Status);
        s.UpdateFromOutput(resume, Sampled(s, resume));
        while (s.HasUnfinishedRequests) Step(s, out _);
        Assert.Equal(32, b.NumTokens);
        Assert.Equal(1, s.MakeStats().NumPreemptionsTotal);
    }

    [Theory]
    [InlineData(SchedulingPolicy.Fcfs, "b")]
    [InlineData(SchedulingPolicy.Priority, "a")]
    public void PreemptionVictimFollowsPolicy(SchedulingPolicy policy, string victim)
    {
        var s = NewScheduler(blocks: 8, maxLen: 32, caching: false, policy: policy);
        s.AddRequest(Req("a", 12, maxTokens: 20, priority: 5, arrival: 0));
        Step(s, out _);
        s.AddRequest(Req("b", 12, maxTokens: 20, start: 100, priority: 0, arrival: 1));
        for (int i = 0; i < 50; i++)
        {
            var so = s.Schedule();
            s.UpdateFromOutput(so, Sampled(s, so));
            if (so.PreemptedReqIds.Count > 0)
            {
                Assert.Equal([victim], so.PreemptedReqIds);
                return;
            }
        }
        Assert.Fail("no preemption");
    }

    [Fact]
    public void PriorityPreemptionOfAnAlreadyScheduledRequestGivesBackItsBudget()
    {
        var s = NewScheduler(blocks: 8, maxLen: 32, caching: false, policy: SchedulingPolicy.Priority);
        var runner = new FakeModelRunner(8, 4, 50);
        void RunStep(out SchedulerOutput so)
        {
            so = s.Schedule();
            s.UpdateFromOutput(so, runner.Execute(so));
            CheckInvariants(s);
        }
        s.AddRequest(Req("x", 13, maxTokens: 10, priority: 5, arrival: 0));
        RunStep(out _);                              // x: 4 blocks
        s.AddRequest(Req("y", 16, maxTokens: 10, start: 100, priority: 0, arrival: 1));
        RunStep(out var so2);                        // x decodes, y prefills: 8 blocks used
        Assert.Equal(17, so2.TotalNumScheduledTokens);
        RunStep(out var so3);                        // x fits; y needs a 5th block: x (scheduled first) is the victim
        Assert.Equal(["x"], so3.PreemptedReqIds);
        Assert.Equal(["y"], so3.NumScheduledTokens.Keys);
        Assert.Equal(1, so3.TotalNumScheduledTokens);
        Assert.Equal(["y"], so3.ScheduledCachedReqs.ReqIds);
        Assert.Equal(0, s.GetRequest("x")!.NumComputedTokens);
        while (s.HasUnfinishedRequests) RunStep(out _);
    }

    [Fact]
    public void PriorityPolicyAdmitsLowerPriorityNumberThenEarlierArrival()
    {
        var s = NewScheduler(maxSeqs: 1, policy: SchedulingPolicy.Priority);
        s.AddRequest(Req("p3", 4, maxTokens: 1, priority: 3, arrival: 0));
        s.AddRequest(Req("p1late", 4, maxTokens: 1, priority: 1, arrival: 5, start: 10));
        s.AddRequest(Req("p1early", 4, maxTokens: 1, priority: 1, arrival: 2, start: 20));
        s.AddRequest(Req("p2", 4, maxTokens: 1, priority: 2, arrival: 1, start: 30));
        var order = new List<string>();
        while (s.HasUnfinishedRequests)
        {
            Step(s, out var so);
            order.AddRange(so.ScheduledNewReqs.Select(r => r.ReqId));
        }
        Assert.Equal(["p1early", "p1late", "p2", "p3"], order);
    }

    [Fact]
    public void FcfsAdmitsInArrivalOrder()
    {
        var s = NewScheduler(maxSeqs: 1);
        s.AddRequest(Req("x", 4, maxTokens: 1, priority: 9));
        s.AddRequest(Req("y", 4, maxTokens: 1, priority: 0, start: 10));
        Step(s, out var so);
        Assert.Equal("x", so.ScheduledNewReqs[0].ReqId);
    }

    [Fact]
    public void AbortFreesBlocksAtAnyPoint()
    {
        var s = NewScheduler(budget: 16);
        s.AddRequest(Req("waiting", 4, start: 900));
        s.AbortRequests(["waiting"]);
        Assert.Equal(0, s.NumWaiting);

        s.AddRequest(Req("chunked", 40));
        s.AddRequest(Req("decoding", 4, start: 100));
        var so = s.Schedule();
        Assert.Equal(["waiting"], so.FinishedReqIds);
        s.UpdateFromOutput(so, Sampled(s, so));
        Assert.True(s.KvCacheUsage > 0);
        s.AbortRequests(["chunked"]); // mid-prefill
        CheckInvariants(s);
        so = s.Schedule();
        Assert.Equal(["chunked"], so.FinishedReqIds);
        s.AbortRequests(["decoding", "unknown"]); // between schedule and update
        var outs = s.UpdateFromOutput(so, Sampled(s, so));
        Assert.Empty(outs);
        CheckInvariants(s);
        Assert.Equal(0, s.KvCacheUsage);
        Assert.False(s.HasUnfinishedRequests);
        Assert.Equal(["decoding"], s.Schedule().FinishedReqIds);
        Assert.Equal(3, s.NumFinishedTotal);
    }

    [Fact]
    public void FinishRequestsEndsWithGivenStatus()
    {
        var s = NewScheduler();
        var r = Req("a", 4);
        s.AddRequest(r);
        Step(s, out _);
        s.FinishRequests(["a"], RequestStatus.FinishedStopped);
        Assert.Equal(RequestStatus.FinishedStopped, r.Status);
        Assert.Equal(FinishReason.Stop, r.FinishReason);
        Assert.Equal(0, s.KvCacheUsage);
        Assert.Throws<ArgumentException>(() => s.FinishRequests(["a"], RequestStatus.Running));
    }

    [Fact]
    public void AddRequestValidates()
    {
        var s = NewScheduler(maxLen: 32);
        Assert.Throws<ArgumentException>(() => s.AddRequest(Req("long", 32)));
        Assert.Throws<ArgumentException>(() => s.AddRequest(Req("empty", 0)));
        s.AddRequest(Req("a", 4));
        Assert.Throws<ArgumentException>(() => s.AddRequest(Req("a", 4)));
        Assert.ThrowsAny<ArgumentException>(() => s.AddRequest(new Request("bad", [1], new Pipeline.Models.Sampling.SamplingParams { TopP = 0 })));
        Assert.Throws<ArgumentException>(() => new Scheduler(new SchedulerConfig { NumGpuBlocks = 1, BlockSize = 4, MaxModelLen = 32 }));
    }

    [Fact]
    public void StatsSnapshot()
    {
        var s = NewScheduler(maxSeqs: 1);
        s.AddRequest(Req("a", 8));
        s.AddRequest(Req("b", 8));
        Step(s, out _);
        var st = s.MakeStats();
        Assert.Equal(1, st.NumRunningReqs);
        Assert.Equal(1, st.NumWaitingReqs);
        Assert.Equal(2.0 / 64, st.KvCacheUsage, 6); // 8 tokens = 2 blocks of 4
        Assert.Equal(1, st.PrefixCacheRequests);
        Assert.Equal(8, st.PrefixCacheQueries);
        Assert.Equal(0, st.PrefixCacheHits);
    }
}
