using Pipeline.Actors.Engine;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

public class KVCacheManagerTests
{
    [Fact]
    public void AllocateSlots_GrowsByWholeBlocks_AndReturnsOnlyNewIds()
    {
        var kv = new KVCacheManager(numGpuBlocks: 4, blockSize: 4);
        var r = Req("a", 6);
        Assert.Equal([0, 1], kv.AllocateSlots(r, 6));
        r.NumComputedTokens = 6;
        Assert.Empty(kv.AllocateSlots(r, 2)!);     // fits in block 1
        Assert.Equal([2], kv.AllocateSlots(r, 3)!); // positions 6..8
        Assert.Equal([0, 1, 2], kv.GetBlockIds("a"));
        Assert.Equal(0.75, kv.Usage);
    }

    [Fact]
    public void AllocateSlots_ReturnsNullAndChangesNothingWhenShort()
    {
        var kv = new KVCacheManager(numGpuBlocks: 3, blockSize: 4);
        var a = Req("a", 8);
        kv.AllocateSlots(a, 8);
        var b = Req("b", 8, start: 50);
        Assert.Null(kv.AllocateSlots(b, 8));
        Assert.Empty(kv.GetBlockIds("b"));
        Assert.Equal(1, kv.NumFreeBlocks);
        Assert.Equal(1, kv.PrefixCacheStats.Requests); // failed attempts are not counted
    }

    [Fact]
    public void Free_ReturnsBlocksTailFirst()
    {
        var kv = new KVCacheManager(numGpuBlocks: 4, blockSize: 4);
        var r = Req("a", 12);
        kv.AllocateSlots(r, 12); // 0, 1, 2
        kv.Free(r);
        Assert.Equal([3, 2, 1, 0], kv.BlockPool.FreeBlockQueue.GetAllFreeBlocks().Select(b => b.BlockId));
        Assert.Equal(0, kv.Usage);
        kv.Free(r); // idempotent
    }

    [Fact]
    public void ComputedBlocksInFreeQueueCountAgainstAvailability()
    {
        var kv = new KVCacheManager(numGpuBlocks: 3, blockSize: 4);
        var a = Req("a", 8);
        kv.AllocateSlots(a, 8);
        a.NumComputedTokens = 8;
        kv.CacheFullBlocks(a, 8);
        kv.Free(a); // both cached blocks free
        var b = Req("b", 12);  // same first 8 tokens
        var hit = kv.GetComputedBlocks(b);
        Assert.Equal(8, hit.NumComputedTokens);
        Assert.Equal([2], kv.AllocateSlots(b, 4, hit));
        Assert.Equal([0, 1, 2], kv.GetBlockIds("b"));
        Assert.Equal(0, kv.NumFreeBlocks);
        Assert.Equal(8, kv.PrefixCacheStats.Hits);
        Assert.Equal(8 + 12, kv.PrefixCacheStats.Queries);
        var c = Req("c", 12);
        var hitC = kv.GetComputedBlocks(c);
        Assert.Throws<InvalidOperationException>(() => kv.AllocateSlots(b, 1, hitC)); // hits only on first allocation
        Assert.Null(kv.AllocateSlots(c, 4, hitC));
        Assert.All(hitC.Blocks, blk => Assert.Equal(1, blk.RefCount));
    }
}
