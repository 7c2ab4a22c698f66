using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// Async scheduling against <see cref="FakeModelRunner"/> (which checks every slot it reads): with two steps in flight, under
/// a tiny token budget and KV cache (chunked prefill, preemption while a step runs), with EOS, max_tokens, aborts and
/// stop-string finishes arriving while steps are in flight, every request streams exactly what it streams without it.
/// </summary>
public class AsyncSchedulingTests
{
    const int Vocab = 50, Eos = 7, NumBlocks = 28, MaxModelLen = 96;

    static List<Request> MakeRequests()
    {
        var rng = new Random(4321);
        var shared = Enumerable.Range(0, 24).Select(_ => rng.Next(1, Vocab)).ToArray();
        var list = new List<Request>();
        for (int i = 0; i < 64; i++)
        {
            int len = rng.Next(1, 61);
            var prompt = Enumerable.Range(0, len).Select(_ => rng.Next(1, Vocab)).ToArray();
            if (i % 2 == 0) Array.Copy(shared, prompt, Math.Min(len, shared.Length));
            var sp = new SamplingParams { MaxTokens = rng.Next(1, 41), IgnoreEos = rng.Next(4) == 0, MinTokens = rng.Next(3) };
            list.Add(new Request($"req-{i}", prompt, sp, [Eos], arrivalTime: i, priority: rng.Next(3)));
        }
        return list;
    }

    sealed record Run(Dictionary<string, List<int>> Streamed, Dictionary<string, FinishReason> Reasons, long Preemptions, int PlannedAhead);

    /// <param name="abortAt">Engine steps after which requests are aborted (ids of finished ones are ignored).</param>
    /// <param name="stopAfter">Requests a "detokenizer" ends by stop string once they streamed this many tokens.</param>
    static Run RunAll(bool async, SchedulingPolicy policy = SchedulingPolicy.Fcfs, bool caching = true,
        IReadOnlyDictionary<int, string[]>? abortAt = null, IReadOnlyDictionary<string, int>? stopAfter = null)
    {
        var scheduler = new Scheduler(new SchedulerConfig
        {
            BlockSize = 4, NumGpuBlocks = NumBlocks, MaxModelLen = MaxModelLen, MaxNumBatchedTokens = 32, MaxNumSeqs = 16,
            EnablePrefixCaching = caching, Policy = policy, AsyncScheduling = async,
        });
        var core = new EngineCore(scheduler, new FakeModelRunner(NumBlocks, 4, Vocab));
        var requests = MakeRequests();
        foreach (var r in requests) core.Admit(r);
        var streamed = requests.ToDictionary(r => r.RequestId, _ => new List<int>());
        var reasons = new Dictionary<string, FinishReason>();
        int plannedAhead = 0;
        void End(IEnumerable<string> ids, FinishReason reason)
        {
            var ending = ids.Where(id => !reasons.ContainsKey(id)).ToList();
            if (reason == FinishReason.Abort) core.Abort(ending);
            else core.Finish(ending, RequestStatus.FinishedStopped);
            foreach (var id in ending) reasons[id] = reason;
        }
        for (int step = 0; core.HasUnfinishedRequests; step++)
        {
            Assert.True(step < 20_000, "no progress");
            foreach (var o in core.Step())
            {
                Assert.False(reasons.ContainsKey(o.RequestId), $"{o.RequestId}: output after it ended");
                streamed[o.RequestId].AddRange(o.NewTokenIds);
                if (o.FinishReason is { } fr) reasons[o.RequestId] = fr;
            }
            if (core.NumInFlight > 0) plannedAhead++;
            if (stopAfter != null) End(stopAfter.Where(kv => streamed[kv.Key].Count >= kv.Value).Select(kv => kv.Key), FinishReason.Stop);
            if (abortAt != null && abortAt.TryGetValue(step, out var abort)) End(abort, FinishReason.Abort);
            CheckInvariants(scheduler);
        }
        core.Drain();
        Assert.Equal(0, core.NumInFlight);
        Assert.False(scheduler.HasFinishedRequests);
        Assert.Equal(0, scheduler.KvCacheUsage);
        Assert.Equal(NumBlocks, scheduler.KVCacheManager.NumFreeBlocks);
        Assert.Equal(64, reasons.Count);
        Assert.Equal(requests.Sum(r => r.NumPreemptions), scheduler.NumPreemptionsTotal);
        foreach (var r in requests)
        {
            Assert.Equal(streamed[r.RequestId], r.OutputTokenIds); // nothing appended that was not streamed
            Assert.Equal(0, r.NumOutputPlaceholders);
        }
        return new Run(streamed, reasons, scheduler.NumPreemptionsTotal, plannedAhead);
    }

    [Theory]
    [InlineData(SchedulingPolicy.Fcfs, true)]
    [InlineData(SchedulingPolicy.Fcfs, false)]
    [InlineData(SchedulingPolicy.Priority, true)]
    public void TinyBudgetAndCache_SameOutputsAsWithoutAsyncScheduling(SchedulingPolicy policy, bool caching)
    {
        var sync = RunAll(async: false, policy, caching);
        var async = RunAll(async: true, policy, caching);
        Assert.Equal(0, sync.PlannedAhead);
        Assert.True(async.PlannedAhead > 0, "steps were planned ahead");
        Assert.True(async.Preemptions > 0, "the tiny cache should force preemption while a step is in flight");
        Assert.Contains(FinishReason.Stop, async.Reasons.Values); // EOS
        Assert.Contains(FinishReason.Length, async.Reasons.Values);
        foreach (var (id, tokens) in sync.Streamed)
        {
            Assert.Equal(tokens, async.Streamed[id]);
            Assert.Equal(sync.Reasons[id], async.Reasons[id]);
        }
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AbortsAndStopStringsWhileStepsAreInFlight_NeitherLoseNorDuplicateTokens(bool async)
    {
        var baseline = RunAll(async: false);
        var abortAt = new Dictionary<int, string[]>
        {
            [2] = ["req-0", "req-1"], [9] = ["req-5", "req-17", "req-40"], [30] = ["req-2", "req-33"], [60] = ["req-8", "req-50"],
        };
        var stopAfter = new Dictionary<string, int> { ["req-3"] = 1, ["req-4"] = 2, ["req-6"] = 3, ["req-9"] = 5, ["req-12"] = 2 };
        var run = RunAll(async, abortAt: abortAt, stopAfter: stopAfter);
        Assert.Contains(FinishReason.Abort, run.Reasons.Values);
        foreach (var (id, full) in baseline.Streamed)
        {
            var got = run.Streamed[id];
            if (run.Reasons[id] == FinishReason.Abort) Assert.Equal(full.Take(got.Count), got);
            else if (stopAfter.TryGetValue(id, out int n)) Assert.Equal(full.Take(n), got);
            else
            {
                Assert.Equal(full, got);
                Assert.Equal(baseline.Reasons[id], run.Reasons[id]);
            }
        }
    }

    [Fact]
    public void APreemptedRequestResumedBeforeItsOldStepIsFoldedBack_IgnoresThatStepsOutput()
    {
        // The loop keeps at most two steps in flight; the scheduler alone may be driven deeper, which this test does.
        static Scheduler New(bool async) => new(new SchedulerConfig { BlockSize = 4, NumGpuBlocks = 3, MaxModelLen = 12, MaxNumBatchedTokens = 32, AsyncScheduling = async });
        var solo = New(async: false);
        var soloRunner = new FakeModelRunner(3, 4, Vocab);
        var soloB = Req("b", 3, maxTokens: 4, start: 100);
        solo.AddRequest(soloB);
        while (solo.HasUnfinishedRequests) { var so = solo.Schedule(); solo.UpdateFromOutput(so, soloRunner.Execute(so)); }

        var s = New(async: true);
        var runner = new FakeModelRunner(3, 4, Vocab);
        var b = Req("b", 3, maxTokens: 4, start: 100);
        s.AddRequest(Req("a", 8, maxTokens: 4));
        s.AddRequest(b);
        var s1 = s.Schedule();                     // a: 8 (2 blocks), b: 3 (1 block)
        var s2 = s.Schedule();                     // a's next decode needs a third block: b is preempted
        Assert.Equal(["b"], s2.PreemptedReqIds);
        s.AbortRequests(["a"]);
        var s3 = s.Schedule();                     // b resumes while step 1, which ran its old incarnation, is in flight
        Assert.Equal("b", Assert.Single(s3.ScheduledNewReqs).ReqId);
        var (o1, o2, o3) = (runner.Execute(s1), runner.Execute(s2), runner.Execute(s3));
        Assert.Empty(s.UpdateFromOutput(s1, o1)); // b's token from before its preemption is not appended
        Assert.Empty(s.UpdateFromOutput(s2, o2));
        Assert.Equal([soloB.OutputTokenIds[0]], Assert.Single(s.UpdateFromOutput(s3, o3)).NewTokenIds);
        Assert.Throws<InvalidOperationException>(() => s.UpdateFromOutput(s3, o3)); // folded back twice
        while (s.HasUnfinishedRequests) { var so = s.Schedule(); s.UpdateFromOutput(so, runner.Execute(so)); }
        Assert.Equal(soloB.OutputTokenIds, b.OutputTokenIds);
        Assert.Equal(0, s.KvCacheUsage);
    }
}
