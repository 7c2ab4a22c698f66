using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class ParentRequestTests
{
    [Fact]
    public void FansOutChildrenWithDerivedIdsAndSeeds()
    {
        var proto = new Request("p", [1, 2, 3], new SamplingParams { N = 3, Seed = 10, MaxTokens = 5 }, [0], 1.5, 2, "salt", 4);
        var parent = new ParentRequest(proto);
        Assert.Equal(["0_p", "1_p", "2_p"], parent.Children.Select(c => c.RequestId));
        Assert.Equal([10L, 11L, 12L], parent.Children.Select(c => c.SamplingParams.Seed!.Value));
        Assert.All(parent.Children, c =>
        {
            Assert.Equal(1, c.SamplingParams.N);
            Assert.Equal(5, c.SamplingParams.MaxTokens);
            Assert.Equal([1, 2, 3], c.PromptTokenIds);
            Assert.Equal("salt", c.CacheSalt);
            Assert.Equal(4, c.LoraId);
            Assert.Equal(2, c.Priority);
        });
        Assert.Equal(1, parent.GetChildIndex("1_p"));
        Assert.Equal(-1, parent.GetChildIndex("1_q"));
        Assert.False(parent.ChildFinished("0_p"));
        Assert.False(parent.ChildFinished("0_p"));
        Assert.False(parent.ChildFinished("2_p"));
        Assert.True(parent.ChildFinished("1_p"));
        Assert.True(parent.IsFinished);
    }

    [Fact]
    public void UnseededParentGivesUnseededChildren()
    {
        var parent = new ParentRequest(new Request("p", [1], new SamplingParams { N = 2 }));
        Assert.All(parent.Children, c => Assert.Null(c.SamplingParams.Seed));
    }

    [Fact]
    public void ChildrenShareThePromptBlocksThroughThePrefixCache()
    {
        var s = new Scheduler(new SchedulerConfig { BlockSize = 4, NumGpuBlocks = 64, MaxModelLen = 64 });
        var parent = new ParentRequest(new Request("p", Enumerable.Range(1, 18).ToArray(), new SamplingParams { N = 3, IgnoreEos = true }));
        s.AddRequest(parent.Children[0]);
        Step(s, out var first);
        s.AddRequest(parent.Children[1]);
        s.AddRequest(parent.Children[2]);
        var so = s.Schedule();
        Assert.All(so.ScheduledNewReqs, nr =>
        {
            Assert.Equal(16, nr.NumComputedTokens);
            Assert.Equal(first.ScheduledNewReqs[0].BlockIds.Take(4), nr.BlockIds.Take(4));
        });
        Assert.Equal(3, s.KVCacheManager.GetBlocks("2_p")[0].RefCount);
    }
}
