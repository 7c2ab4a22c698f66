using Pipeline.Actors.Engine;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class PrefixCachingTests
{
    static Scheduler NewScheduler(bool caching = true, int blocks = 64) => new(new SchedulerConfig
    {
        BlockSize = 4, NumGpuBlocks = blocks, MaxModelLen = 128, MaxNumBatchedTokens = 256, EnablePrefixCaching = caching,
    });

    static int[] Prompt(int len, int tail = 0) => Enumerable.Range(100, len).Select((t, i) => i >= len - tail ? t + 1000 : t).ToArray();

    [Fact]
    public void SecondRequestSharingPrefix_GetsCachedBlocksAsComputed()
    {
        var s = NewScheduler();
        var shared = Prompt(30); // 7 full blocks + 2 tokens
        s.AddRequest(Req("a", shared));
        Step(s, out var so1);
        var aBlocks = so1.ScheduledNewReqs[0].BlockIds;
        Assert.Equal(8, aBlocks.Count);

        // Same 30 tokens then 6 different ones: the 7 full blocks of the shared prefix are hits.
        var b = shared.Concat(Enumerable.Range(5000, 6)).ToArray();
        s.AddRequest(Req("b", b));
        var so2 = s.Schedule();
        var nb = Assert.Single(so2.ScheduledNewReqs);
        Assert.Equal(7 * 4, nb.NumComputedTokens);
        Assert.Equal(7 * 4, s.GetRequest("b")!.NumComputedTokens);
        Assert.Equal(36 - 28, so2.NumScheduledTokens["b"]);
        Assert.Equal(aBlocks.Take(7), nb.BlockIds.Take(7)); // identical block ids reused
        Assert.DoesNotContain(nb.BlockIds[7], aBlocks);
        Assert.All(s.KVCacheManager.GetBlocks("a").Take(7), blk => Assert.Equal(2, blk.RefCount));
        Assert.Equal(28, s.PrefixCacheStats.Hits);
        Assert.Equal(30 + 36, s.PrefixCacheStats.Queries);
        Assert.Equal(2, s.PrefixCacheStats.Requests);
        s.UpdateFromOutput(so2, Sampled(s, so2));
        CheckInvariants(s);
    }

    [Fact]
    public void FullHit_StillRecomputesLastToken()
    {
        var s = NewScheduler();
        var p = Prompt(16); // exactly 4 blocks
        s.AddRequest(Req("a", p));
        Step(s, out _);
        s.AddRequest(Req("b", p));
        var so = s.Schedule();
        Assert.Equal(12, so.ScheduledNewReqs[0].NumComputedTokens); // 3 blocks, not 4
        Assert.Equal(4, so.NumScheduledTokens["b"]);
    }

    [Fact]
    public void FreedBlocksStayCachedUntilEvicted()
    {
        var s = NewScheduler();
        var p = Prompt(20);
        s.AddRequest(Req("a", p, maxTokens: 1));
        var outs = Step(s, out var so1);
        Assert.True(Assert.Single(outs).Finished);
        Assert.Equal(0, s.KvCacheUsage);
        s.AddRequest(Req("b", p));
        var so2 = s.Schedule();
        Assert.Equal(16, so2.ScheduledNewReqs[0].NumComputedTokens);
        Assert.Equal(so1.ScheduledNewReqs[0].BlockIds.Take(4), so2.ScheduledNewReqs[0].BlockIds.Take(4));
    }

    [Theory]
    [InlineData("salt")]
    [InlineData("lora")]
    [InlineData("disabled")]
    public void DifferentSaltOrLora_OrCachingDisabled_PreventsReuse(string variant)
    {
        var s = NewScheduler(caching: variant != "disabled");
        var p = Prompt(24);
        s.AddRequest(Req("a", p, salt: variant == "salt" ? "tenant-1" : null, lora: variant == "lora" ? 1 : null));
        Step(s, out var so1);
        s.AddRequest(Req("b", p, salt: variant == "salt" ? "tenant-2" : null, lora: variant == "lora" ? 2 : null));
        var so2 = s.Schedule();
        Assert.Equal(0, so2.ScheduledNewReqs[0].NumComputedTokens);
        Assert.Empty(so2.ScheduledNewReqs[0].BlockIds.Intersect(so1.ScheduledNewReqs[0].BlockIds));
    }

    [Fact]
    public void SameSaltAndLora_Reuses()
    {
        var s = NewScheduler();
        var p = Prompt(24);
        s.AddRequest(Req("a", p, salt: "t", lora: 3));
        Step(s, out _);
        s.AddRequest(Req("b", p, salt: "t", lora: 3));
        Assert.Equal(20, s.Schedule().ScheduledNewReqs[0].NumComputedTokens);
    }

    [Fact]
    public void MultiModalHashesAreExtraKeysOfOverlappingBlocksOnly()
    {
        var s = NewScheduler();
        var p = Prompt(24);
        var sp = new Pipeline.Models.Sampling.SamplingParams { MaxTokens = 4 };
        s.AddRequest(new Request("a", p, sp, [0], 0, 0, null, null, [new MultiModalFeature("img-1", 8, 4)]));
        Step(s, out _);
        s.AddRequest(new Request("b", p, sp, [0], 0, 0, null, null, [new MultiModalFeature("img-2", 8, 4)]));
        // Blocks 0 and 1 (positions 0..7) match; block 2 holds the image and differs.
        Assert.Equal(8, s.Schedule().ScheduledNewReqs[0].NumComputedTokens);
    }

    [Fact]
    public void OutputTokensAreCachedToo_PreemptedRequestHitsItsOwnBlocks()
    {
        var s = NewScheduler();
        s.AddRequest(Req("a", Prompt(6), maxTokens: 20));
        for (int i = 0; i < 8; i++) Step(s, out _); // 6 prompt + 8 output = 14 tokens, 13 computed
        var r = s.GetRequest("a")!;
        Assert.Equal(13, r.NumComputedTokens);
        Assert.Equal(3, s.KVCacheManager.BlockPool.NumCachedBlocks);
        var kv = new KVCacheManager(8, 4);
        var computed = s.KVCacheManager.GetComputedBlocks(r);
        Assert.Equal(12, computed.NumComputedTokens);
        Assert.Equal(s.KVCacheManager.GetBlocks("a").Take(3), computed.Blocks);
        Assert.Equal(0, kv.GetComputedBlocks(r).NumComputedTokens);
    }
}
