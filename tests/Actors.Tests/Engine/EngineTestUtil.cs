using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Tests.Engine;

static class EngineTestUtil
{
    public static Request Req(string id, int promptLen, int maxTokens = 16, int start = 1, int priority = 0, double arrival = 0,
        bool ignoreEos = true, string? salt = null, int? lora = null, int[]? eos = null, int minTokens = 0, int[]? stopTokenIds = null) =>
        new(id, Enumerable.Range(start, promptLen).ToArray(),
            new SamplingParams { MaxTokens = maxTokens, IgnoreEos = ignoreEos, MinTokens = minTokens, StopTokenIds = stopTokenIds ?? Array.Empty<int>() },
            eos ?? [0], arrival, priority, salt, lora);

    public static Request Req(string id, int[] prompt, int maxTokens = 16, int priority = 0, double arrival = 0, string? salt = null, int? lora = null) =>
        new(id, prompt, new SamplingParams { MaxTokens = maxTokens, IgnoreEos = true }, [0], arrival, priority, salt, lora);

    /// <summary>A runner output sampling <paramref name="token"/> for every request whose prompt is fully scheduled.</summary>
    public static ModelRunnerOutput Sampled(Scheduler s, SchedulerOutput so, int token = 5)
    {
        var o = new ModelRunnerOutput();
        foreach (var (id, n) in so.NumScheduledTokens)
        {
            var r = s.GetRequest(id);
            bool complete = r != null && r.NumComputedTokens + n >= r.NumTokens;
            o.ReqIds.Add(id);
            o.SampledTokenIds.Add(complete ? [token] : []);
            o.Logprobs.Add(null);
            o.PromptLogprobs.Add(null);
        }
        return o;
    }

    public static IReadOnlyList<EngineCoreOutput> Step(Scheduler s, out SchedulerOutput so, int token = 5)
    {
        so = s.Schedule();
        return s.UpdateFromOutput(so, Sampled(s, so, token));
    }

    /// <summary>Block accounting invariants; throws with a message on the first violation.</summary>
    public static void CheckInvariants(Scheduler s)
    {
        var kv = s.KVCacheManager;
        var pool = kv.BlockPool;
        var holders = new Dictionary<int, int>();
        int held = 0;
        foreach (var r in s.RunningRequests)
        {
            Assert.Equal(RequestStatus.Running, r.Status);
            var blocks = kv.GetBlocks(r.RequestId);
            Assert.Equal(blocks.Count, blocks.Select(b => b.BlockId).Distinct().Count()); // no block twice in one request
            Assert.True(blocks.Count * kv.BlockSize >= r.NumComputedTokens);
            foreach (var b in blocks) holders[b.BlockId] = holders.GetValueOrDefault(b.BlockId) + 1;
            held += blocks.Count;
        }
        foreach (var id in kv.RequestsHoldingBlocks)
            Assert.True(s.RunningRequests.Any(r => r.RequestId == id), $"{id} holds blocks but is not running");
        foreach (var r in s.WaitingRequests)
        {
            Assert.Empty(kv.GetBlocks(r.RequestId));
            Assert.Equal(0, r.NumComputedTokens);
        }
        Assert.Equal(held, pool.Blocks.Sum(b => b.RefCount));
        foreach (var b in pool.Blocks)
        {
            int h = holders.GetValueOrDefault(b.BlockId);
            Assert.Equal(h, b.RefCount);
            if (h > 1) Assert.NotNull(b.BlockHash); // only cached blocks are shared
            if (b.BlockHash is { } hash) Assert.Same(b, pool.GetCachedBlock(hash));
        }
        var free = pool.FreeBlockQueue.GetAllFreeBlocks();
        Assert.Equal(pool.NumFreeBlocks, free.Count);
        Assert.Equal(free.Count, free.Select(b => b.BlockId).Distinct().Count());
        Assert.All(free, b => Assert.Equal(0, b.RefCount));
        Assert.Equal(pool.NumGpuBlocks, free.Count + pool.Blocks.Count(b => b.RefCount > 0));
        Assert.Equal(s.NumRunning + s.NumWaiting, s.NumUnfinished);
    }
}
