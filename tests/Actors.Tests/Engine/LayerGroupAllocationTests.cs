using Pipeline.Actors.Engine;
using static Pipeline.Actors.Tests.Engine.EngineTestUtil;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>Per-layer-group allocation: state slots for state-space layers, and the sliding-window rule (vLLM's managers).</summary>
public class LayerGroupAllocationTests
{
    [Fact]
    public void StateSpaceOnlyModelHoldsOneSlotPerRequestAndNoBlocks()
    {
        var kv = new KVCacheManager(numGpuBlocks: 4, blockSize: 4, enablePrefixCaching: false, numStateSlots: 2, hasAttention: false);
        var a = Req("a", 30);
        var b = Req("b", 30);
        Assert.Empty(kv.AllocateSlots(a, 30)!);
        Assert.Empty(kv.AllocateSlots(b, 30)!);
        Assert.Equal([0, 1], new[] { kv.GetStateSlot("a"), kv.GetStateSlot("b") });
        Assert.Equal(4, kv.NumFreeBlocks);
        // Growing never takes another slot; a third request waits for one.
        a.NumComputedTokens = 30;
        Assert.Empty(kv.AllocateSlots(a, 1)!);
        Assert.Null(kv.AllocateSlots(Req("c", 3), 3));
        Assert.Equal(-1, kv.GetStateSlot("c"));
        kv.Free(a);
        Assert.Equal(-1, kv.GetStateSlot("a"));
        Assert.Empty(kv.AllocateSlots(Req("c", 3), 3)!);
        Assert.Equal(0, kv.GetStateSlot("c"));
    }

    [Fact]
    public void HybridRequestNeedsBothBlocksAndASlot()
    {
        var kv = new KVCacheManager(numGpuBlocks: 2, blockSize: 4, enablePrefixCaching: false, numStateSlots: 1);
        var a = Req("a", 4);
        Assert.Equal([0], kv.AllocateSlots(a, 4));
        // A free block but no free slot: refused, nothing taken.
        Assert.Null(kv.AllocateSlots(Req("b", 4), 4));
        Assert.Equal(1, kv.NumFreeBlocks);
        kv.Free(a);
        Assert.Equal(2, kv.NumFreeBlocks);
        Assert.Equal(1, kv.MambaManager!.NumFreeSlots);
    }

    [Fact]
    public void PrefixCachingIsRefusedWithStateSpaceLayers() =>
        Assert.Throws<ArgumentException>(() => new KVCacheManager(4, 4, enablePrefixCaching: true, numStateSlots: 1));

    [Fact]
    public void SlidingWindowFreesBlocksWhollyOutsideTheWindow()
    {
        // Window 6, blocks of 4: computing token t needs tokens t-5..t.
        var kv = new KVCacheManager(numGpuBlocks: 8, blockSize: 4, enablePrefixCaching: false, slidingWindow: 6);
        var r = Req("a", 12);
        Assert.Equal([0, 1, 2], kv.AllocateSlots(r, 12));
        r.NumComputedTokens = 12;
        // Next token 12 sees 7..12: block 0 (tokens 0..3) is out, block 1 (4..7) still holds token 7.
        Assert.Equal([3], kv.AllocateSlots(r, 1));
        Assert.Equal(-1, kv.GetBlockIds("a")[0]);
        Assert.Equal([1, 2, 3], kv.GetBlockIds("a").Skip(1));
        Assert.Equal(5, kv.NumFreeBlocks);
        r.NumComputedTokens = 14;
        // Token 14 sees 9..14: block 1 goes too; block 0's place stays a stand-in.
        Assert.Empty(kv.AllocateSlots(r, 1)!);
        Assert.Equal([-1, -1, 2, 3], kv.GetBlockIds("a"));
        Assert.Equal(6, kv.NumFreeBlocks);
        kv.Free(r);
        Assert.Equal(8, kv.NumFreeBlocks);
    }

    [Fact]
    public void FullAttentionKeepsEveryBlock()
    {
        var kv = new KVCacheManager(numGpuBlocks: 8, blockSize: 4, enablePrefixCaching: false);
        var r = Req("a", 12);
        kv.AllocateSlots(r, 12);
        r.NumComputedTokens = 12;
        kv.AllocateSlots(r, 4);
        Assert.Equal([0, 1, 2, 3], kv.GetBlockIds("a"));
    }
}
