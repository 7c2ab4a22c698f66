using Pipeline.Actors.Engine;
using Pipeline.Models.Architectures;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>Pooling requests in the engine's scheduler: token budget, no KV blocks, one step each, policy order.</summary>
public class PoolingSchedulerTests
{
    static Scheduler NewScheduler(int budget = 32, int maxSeqs = 16, int maxLen = 32, bool chunked = false) =>
        new(new SchedulerConfig
        {
            BlockSize = 4, NumGpuBlocks = 64, MaxModelLen = maxLen, MaxNumBatchedTokens = budget, MaxNumSeqs = maxSeqs,
            EnableChunkedPrefill = chunked,
        });

    static Request Pool(string id, int len, int start = 1) =>
        Request.ForPooling(id, new PoolingItem(new PoolingInput(Enumerable.Range(start, len).ToArray()), PoolingTask.Embed, PoolingParams.Default));

    /// <summary>What a pooling runner would return: one row per request holding its input length (so outputs can be told apart).</summary>
    static ModelRunnerOutput Pooled(SchedulerOutput so)
    {
        var o = new ModelRunnerOutput();
        foreach (var r in so.ScheduledNewReqs.Where(r => r.Pooling != null))
        {
            o.ReqIds.Add(r.ReqId);
            o.SampledTokenIds.Add([]);
            o.PoolerOutput.Add([[r.Pooling!.Input.TokenIds.Length]]);
        }
        return o;
    }

    [Fact]
    public void EachStepFitsTheTokenBudgetAndEveryRequestFinishesInTheStepThatRanIt()
    {
        var s = NewScheduler(budget: 32);
        int[] lengths = [10, 7, 20, 3, 32, 1, 15, 15, 4];
        for (int i = 0; i < lengths.Length; i++) s.AddRequest(Pool($"p{i}", lengths[i], 100 * i));
        var finished = new List<string>();
        int steps = 0;
        while (s.HasUnfinishedRequests)
        {
            var so = s.Schedule();
            Assert.InRange(so.TotalNumScheduledTokens, 1, 32);
            Assert.Equal(so.ScheduledNewReqs.Sum(r => r.PromptTokenIds.Count), so.TotalNumScheduledTokens);
            Assert.Empty(so.ScheduledCachedReqs.ReqIds);
            var outs = s.UpdateFromOutput(so, Pooled(so));
            Assert.Equal(so.ScheduledNewReqs.Select(r => r.ReqId), outs.Select(o => o.RequestId));
            foreach (var o in outs)
            {
                Assert.Equal(FinishReason.Stop, o.FinishReason);
                Assert.Equal(lengths[int.Parse(o.RequestId[1..])], o.PoolingOutput![0][0]);
            }
            finished.AddRange(outs.Select(o => o.RequestId));
            Assert.Equal(0, s.NumRunning);
            Assert.True(++steps < 20);
        }
        Assert.Equal(Enumerable.Range(0, lengths.Length).Select(i => $"p{i}"), finished);
        Assert.True(steps < lengths.Length, $"{steps} steps: requests were not batched");
    }

    [Fact]
    public void NoKVBlocksAreAllocated()
    {
        var s = NewScheduler(budget: 64, maxLen: 64);
        int free = s.KVCacheManager.NumFreeBlocks;
        for (int i = 0; i < 6; i++) s.AddRequest(Pool($"p{i}", 10, 100 * i));
        var so = s.Schedule();
        Assert.Equal(6, so.ScheduledNewReqs.Count);
        Assert.All(so.ScheduledNewReqs, r => Assert.Empty(r.BlockIds));
        Assert.Equal(free, s.KVCacheManager.NumFreeBlocks);
        Assert.Equal(0, s.KvCacheUsage);
        s.UpdateFromOutput(so, Pooled(so));
        Assert.Equal(free, s.KVCacheManager.NumFreeBlocks);
        Assert.False(s.HasUnfinishedRequests);
    }

    [Fact]
    public void FirstComeFirstServedARequestThatDoesNotFitIsNotOvertaken()
    {
        var s = NewScheduler(budget: 32);
        s.AddRequest(Pool("a", 20));
        s.AddRequest(Pool("b", 20));
        s.AddRequest(Pool("c", 5));
        var first = s.Schedule();
        Assert.Equal(["a"], first.ScheduledNewReqs.Select(r => r.ReqId));
        s.UpdateFromOutput(first, Pooled(first));
        var second = s.Schedule();
        Assert.Equal(["b", "c"], second.ScheduledNewReqs.Select(r => r.ReqId));
    }

    [Fact]
    public void MaxNumSeqsLimitsOneStep()
    {
        var s = NewScheduler(budget: 32, maxSeqs: 2);
        for (int i = 0; i < 5; i++) s.AddRequest(Pool($"p{i}", 2, 10 * i));
        var so = s.Schedule();
        Assert.Equal(2, so.ScheduledNewReqs.Count);
    }

    [Fact]
    public void AnInputLongerThanTheBudgetOrMaxModelLenIsRefusedWithAClearError()
    {
        var s = NewScheduler(budget: 16, maxLen: 32, chunked: true);
        var ex = Assert.Throws<ArgumentException>(() => s.AddRequest(Pool("long", 17)));
        Assert.Contains("max_num_batched_tokens (16)", ex.Message);
        Assert.Contains("not chunked", ex.Message);
        ex = Assert.Throws<ArgumentException>(() => s.AddRequest(Pool("huge", 33)));
        Assert.Contains("max_model_len (32)", ex.Message);
        // Unlike a prompt to generate from, a pooling input may use the whole max_model_len.
        var t = NewScheduler(budget: 32, maxLen: 32);
        t.AddRequest(Pool("full", 32));
        Assert.Equal(1, t.NumUnfinished);
        Assert.False(s.HasUnfinishedRequests);
    }

    [Fact]
    public void PoolingAndGenerationShareTheBudget()
    {
        var s = NewScheduler(budget: 32, maxLen: 64, chunked: true);
        s.AddRequest(Req("g", 12, maxTokens: 3));
        s.AddRequest(Pool("p", 16, 500));
        s.AddRequest(Pool("q", 8, 600));
        var so = s.Schedule();
        Assert.Equal(12 + 16, so.TotalNumScheduledTokens);
        Assert.Equal(3, s.KVCacheManager.GetBlockIds("g").Count);
        Assert.Empty(s.KVCacheManager.GetBlockIds("p"));
        var outputs = s.UpdateFromOutput(so, Merge(Sampled(s, so), Pooled(so)));
        Assert.Contains(outputs, o => o.RequestId == "p" && o.PoolingOutput != null);
        Assert.Contains(outputs, o => o.RequestId == "g" && o.NewTokenIds.Count == 1 && !o.Finished);
        so = s.Schedule();
        Assert.Equal(["q"], so.ScheduledNewReqs.Select(r => r.ReqId));
        Assert.Equal(1 + 8, so.TotalNumScheduledTokens);
    }

    [Fact]
    public void AMissingPoolerOutputFailsTheRequest()
    {
        var s = NewScheduler();
        s.AddRequest(Pool("p", 4));
        var so = s.Schedule();
        var outs = s.UpdateFromOutput(so, new ModelRunnerOutput());
        Assert.Equal(FinishReason.Error, Assert.Single(outs).FinishReason);
        Assert.False(s.HasUnfinishedRequests);
    }

    static ModelRunnerOutput Merge(ModelRunnerOutput sampled, ModelRunnerOutput pooled)
    {
        var o = new ModelRunnerOutput();
        for (int i = 0; i < sampled.ReqIds.Count; i++)
        {
            int p = pooled.ReqIds.IndexOf(sampled.ReqIds[i]);
            o.ReqIds.Add(sampled.ReqIds[i]);
            o.SampledTokenIds.Add(p >= 0 ? [] : sampled.SampledTokenIds[i]);
            o.Logprobs.Add(null);
            o.PromptLogprobs.Add(null);
            o.PoolerOutput.Add(p >= 0 ? pooled.PoolerOutput[p] : null);
        }
        return o;
    }
}
