using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class SchedulerPropertyTests
{
    [Theory]
    [InlineData(SchedulingPolicy.Fcfs, 1)]
    [InlineData(SchedulingPolicy.Priority, 2)]
    [InlineData(SchedulingPolicy.Fcfs, 3)]
    public void TenThousandRandomOperations_KeepBlockInvariants(SchedulingPolicy policy, int seed)
    {
        const int numBlocks = 40, blockSize = 4, vocab = 50;
        var rng = new Random(seed);
        var s = new Scheduler(new SchedulerConfig
        {
            BlockSize = blockSize, NumGpuBlocks = numBlocks, MaxModelLen = 64, MaxNumBatchedTokens = 48, MaxNumSeqs = 8,
            Policy = policy, LongPrefillTokenThreshold = seed == 3 ? 20 : null,
        });
        var runner = new FakeModelRunner(numBlocks, blockSize, vocab);
        var prefixes = Enumerable.Range(0, 3).Select(_ => Enumerable.Range(0, 30).Select(_ => rng.Next(1, vocab)).ToArray()).ToArray();
        int nextId = 0, steps = 0, aborts = 0;

        string? RandomLiveId()
        {
            var live = s.RunningRequests.Select(r => r.RequestId).Concat(s.WaitingRequests.Select(r => r.RequestId)).ToList();
            return live.Count == 0 ? null : live[rng.Next(live.Count)];
        }

        for (int op = 0; op < 10_000; op++)
        {
            int kind = rng.Next(10);
            if (kind < 3)
            {
                int len = rng.Next(1, 50);
                var prompt = Enumerable.Range(0, len).Select(_ => rng.Next(1, vocab)).ToArray();
                if (rng.Next(2) == 0)
                {
                    var p = prefixes[rng.Next(prefixes.Length)];
                    Array.Copy(p, prompt, Math.Min(len, p.Length));
                }
                var sp = new SamplingParams { MaxTokens = rng.Next(1, 30), IgnoreEos = rng.Next(2) == 0 };
                s.AddRequest(new Request($"r{nextId++}", prompt, sp, [3], arrivalTime: op, priority: rng.Next(4),
                    cacheSalt: rng.Next(8) == 0 ? "salt" : null));
            }
            else if (kind < 8)
            {
                var so = s.Schedule();
                Assert.True(so.TotalNumScheduledTokens <= 48);
                var ro = runner.Execute(so);
                if (rng.Next(10) == 0 && RandomLiveId() is { } id)
                {
                    s.AbortRequests([id]); // arrives while the step runs
                    aborts++;
                }
                s.UpdateFromOutput(so, ro);
                steps++;
            }
            else if (kind == 8)
            {
                s.AbortRequests([RandomLiveId() ?? "none", "unknown"]);
                aborts++;
            }
            else if (RandomLiveId() is { } id)
            {
                s.FinishRequests([id], RequestStatus.FinishedStopped);
            }
            CheckInvariants(s);
        }

        var all = s.RunningRequests.Select(r => r.RequestId).Concat(s.WaitingRequests.Select(r => r.RequestId)).ToList();
        s.AbortRequests(all);
        CheckInvariants(s);
        var pool = s.KVCacheManager.BlockPool;
        Assert.Equal(numBlocks, pool.NumFreeBlocks);
        Assert.All(pool.Blocks, b => Assert.Equal(0, b.RefCount));
        Assert.Equal(0, s.KvCacheUsage);
        Assert.False(s.HasUnfinishedRequests);
        Assert.Equal(nextId, s.NumFinishedTotal);
        Assert.True(steps > 4000);
        Assert.True(s.NumPreemptionsTotal > 0);
        Assert.True(s.PrefixCacheStats.Hits > 0);
    }
}
