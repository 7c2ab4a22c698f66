using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>
/// Whole runs against <see cref="FakeModelRunner"/>: under a tiny token budget and KV cache (forcing chunked
/// prefill and preemption) every request must produce exactly what it produces alone with unlimited resources.
/// </summary>
public class EndToEndTests
{
    const int Vocab = 50, Eos = 7, BlockSize = 4, MaxModelLen = 96;

    static List<Request> MakeRequests(int seed, int count)
    {
        var rng = new Random(seed);
        var shared = Enumerable.Range(0, 24).Select(_ => rng.Next(1, Vocab)).ToArray();
        var list = new List<Request>();
        for (int i = 0; i < count; i++)
        {
            int len = rng.Next(1, 61);
            var prompt = Enumerable.Range(0, len).Select(_ => rng.Next(1, Vocab)).ToArray();
            if (i % 2 == 0) Array.Copy(shared, prompt, Math.Min(len, shared.Length)); // half share a prefix
            var sp = new SamplingParams { MaxTokens = rng.Next(1, 41), IgnoreEos = rng.Next(4) == 0, MinTokens = rng.Next(3) };
            list.Add(new Request($"req-{i}", prompt, sp, [Eos], arrivalTime: i, priority: rng.Next(3)));
        }
        return list;
    }

    static (List<int> Tokens, FinishReason? Reason) Solo(Request template)
    {
        var s = new Scheduler(new SchedulerConfig { BlockSize = BlockSize, NumGpuBlocks = 256, MaxModelLen = MaxModelLen, MaxNumBatchedTokens = 4096 });
        var runner = new FakeModelRunner(256, BlockSize, Vocab);
        var r = template.CloneAs(template.RequestId, template.SamplingParams);
        s.AddRequest(r);
        var tokens = new List<int>();
        FinishReason? reason = null;
        while (s.HasUnfinishedRequests)
        {
            var so = s.Schedule();
            foreach (var o in s.UpdateFromOutput(so, runner.Execute(so)))
            {
                tokens.AddRange(o.NewTokenIds);
                reason = o.FinishReason;
            }
        }
        Assert.Equal(0, s.NumPreemptionsTotal);
        return (tokens, reason);
    }

    [Theory]
    [InlineData(SchedulingPolicy.Fcfs, true)]
    [InlineData(SchedulingPolicy.Fcfs, false)]
    [InlineData(SchedulingPolicy.Priority, true)]
    public void SixtyFourRequests_TinyBudgetAndCache_MatchSoloRuns(SchedulingPolicy policy, bool caching)
    {
        var requests = MakeRequests(1234, 64);
        var expected = requests.ToDictionary(r => r.RequestId, Solo);

        const int numBlocks = 28; // one max_model_len sequence needs 24
        var s = new Scheduler(new SchedulerConfig
        {
            BlockSize = BlockSize, NumGpuBlocks = numBlocks, MaxModelLen = MaxModelLen, MaxNumBatchedTokens = 32,
            MaxNumSeqs = 16, EnablePrefixCaching = caching, Policy = policy,
        });
        var runner = new FakeModelRunner(numBlocks, BlockSize, Vocab);
        foreach (var r in requests) s.AddRequest(r);
        var streamed = requests.ToDictionary(r => r.RequestId, _ => new List<int>());
        var reasons = new Dictionary<string, FinishReason>();
        int steps = 0, finishedSeen = 0, preemptedSeen = 0;
        while (s.HasUnfinishedRequests)
        {
            var so = s.Schedule();
            Assert.InRange(so.TotalNumScheduledTokens, 1, 32);
            Assert.True(so.NumScheduledTokens.Count <= 16);
            finishedSeen += so.FinishedReqIds.Count;
            preemptedSeen += so.PreemptedReqIds.Count;
            foreach (var o in s.UpdateFromOutput(so, runner.Execute(so)))
            {
                Assert.DoesNotContain(o.RequestId, reasons.Keys);
                streamed[o.RequestId].AddRange(o.NewTokenIds);
                if (o.FinishReason is { } fr) reasons[o.RequestId] = fr;
            }
            CheckInvariants(s);
            Assert.True(++steps < 20_000, "no progress");
        }
        finishedSeen += s.Schedule().FinishedReqIds.Count;

        foreach (var r in requests)
        {
            var (tokens, reason) = expected[r.RequestId];
            Assert.Equal(tokens, streamed[r.RequestId]);
            Assert.Equal(tokens, r.OutputTokenIds);
            Assert.Equal(reason, reasons[r.RequestId]);
            Assert.Equal(reason, r.FinishReason);
        }
        Assert.Equal(64, finishedSeen);
        Assert.Equal(64, s.NumFinishedTotal);
        Assert.True(s.NumPreemptionsTotal > 0, "the tiny cache should force preemption");
        Assert.Equal(requests.Sum(r => r.NumPreemptions), s.NumPreemptionsTotal);
        Assert.Equal(preemptedSeen, s.NumPreemptionsTotal);
        var stats = s.MakeStats();
        Assert.Equal(0, stats.NumRunningReqs);
        Assert.Equal(0, stats.NumWaitingReqs);
        Assert.Equal(0, stats.KvCacheUsage);
        if (caching)
        {
            Assert.Equal(64 + s.NumPreemptionsTotal, stats.PrefixCacheRequests);
            Assert.True(stats.PrefixCacheHits > 0);
            Assert.True(stats.PrefixCacheHits < stats.PrefixCacheQueries);
        }
        else Assert.Equal(0, stats.PrefixCacheQueries);
    }
}
