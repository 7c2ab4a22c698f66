using Pipeline.Actors.Engine;

namespace Pipeline.Actors.Tests.Engine;

public class BlockPoolTests
{
    static BlockHash H(int i) => new((ulong)i, 0xabcdUL);

    [Fact]
    public void FreeQueue_StartsInIdOrder_PopsFromHead_AppendsToTail()
    {
        var blocks = Enumerable.Range(0, 5).Select(i => new KVCacheBlock(i)).ToArray();
        var q = new FreeKVCacheBlockQueue(blocks);
        Assert.Equal(5, q.NumFreeBlocks);
        Assert.Equal([0, 1, 2, 3, 4], q.GetAllFreeBlocks().Select(b => b.BlockId));
        var b0 = q.PopLeft();
        Assert.Equal(0, b0.BlockId);
        Assert.False(q.Contains(b0));
        q.Append(b0);
        Assert.Equal([1, 2, 3, 4, 0], q.GetAllFreeBlocks().Select(b => b.BlockId));
        Assert.Throws<InvalidOperationException>(() => q.Append(b0));
    }

    [Fact]
    public void FreeQueue_RemovesFromMiddleHeadAndTail()
    {
        var blocks = Enumerable.Range(0, 5).Select(i => new KVCacheBlock(i)).ToArray();
        var q = new FreeKVCacheBlockQueue(blocks);
        q.Remove(blocks[2]);
        Assert.Equal([0, 1, 3, 4], q.GetAllFreeBlocks().Select(b => b.BlockId));
        q.Remove(blocks[0]);
        q.Remove(blocks[4]);
        Assert.Equal([1, 3], q.GetAllFreeBlocks().Select(b => b.BlockId));
        Assert.Equal(2, q.NumFreeBlocks);
        Assert.Throws<InvalidOperationException>(() => q.Remove(blocks[2]));
        q.PopLeft();
        q.PopLeft();
        Assert.Throws<InvalidOperationException>(() => q.PopLeft());
        Assert.Equal(0, q.NumFreeBlocks);
    }

    [Fact]
    public void Pool_FreedBlocksAreReusedInLruOrder()
    {
        var pool = new BlockPool(4);
        var a = pool.GetNewBlocks(2); // 0, 1
        var b = pool.GetNewBlocks(2); // 2, 3
        Assert.Equal(0, pool.NumFreeBlocks);
        Assert.Equal(1.0, pool.Usage);
        Assert.Throws<InvalidOperationException>(() => pool.GetNewBlocks(1));
        pool.FreeBlocks(b.AsEnumerable().Reverse()); // 3 then 2
        pool.FreeBlocks(a);                          // 0 then 1
        Assert.Equal([3, 2, 0, 1], pool.FreeBlockQueue.GetAllFreeBlocks().Select(x => x.BlockId));
        Assert.Equal([3, 2], pool.GetNewBlocks(2).Select(x => x.BlockId));
        Assert.Equal(0.5, pool.Usage);
    }

    [Fact]
    public void Pool_TouchTakesFreeCachedBlockOutOfQueue_AndRefCounts()
    {
        var pool = new BlockPool(4);
        var blocks = pool.GetNewBlocks(2);
        Assert.True(pool.CacheBlock(blocks[0], H(1)));
        pool.FreeBlocks(blocks);
        Assert.Equal(4, pool.NumFreeBlocks);
        var hit = pool.GetCachedBlock(H(1));
        Assert.Same(blocks[0], hit);
        pool.Touch([hit!]);
        Assert.Equal(1, hit!.RefCount);
        Assert.Equal(3, pool.NumFreeBlocks);
        Assert.DoesNotContain(hit, pool.FreeBlockQueue.GetAllFreeBlocks());
        pool.Touch([hit]); // shared: no queue change
        Assert.Equal(2, hit.RefCount);
        pool.FreeBlocks([hit]);
        Assert.Equal(3, pool.NumFreeBlocks);
        pool.FreeBlocks([hit]);
        Assert.Equal(4, pool.NumFreeBlocks);
        Assert.Same(hit, pool.GetCachedBlock(H(1))); // still cached while free
        Assert.Throws<InvalidOperationException>(() => pool.FreeBlocks([hit]));
    }

    [Fact]
    public void Pool_EvictionOnReallocationDropsHash()
    {
        var pool = new BlockPool(2);
        var blocks = pool.GetNewBlocks(2);
        pool.CacheBlock(blocks[0], H(7));
        pool.CacheBlock(blocks[1], H(8));
        Assert.Equal(2, pool.NumCachedBlocks);
        pool.FreeBlocks(blocks); // queue: 0 (hash 7), 1 (hash 8)
        var again = pool.GetNewBlocks(1);
        Assert.Equal(0, again[0].BlockId);
        Assert.Null(again[0].BlockHash);
        Assert.Null(pool.GetCachedBlock(H(7)));
        Assert.Same(blocks[1], pool.GetCachedBlock(H(8)));
        Assert.Equal(1, pool.NumCachedBlocks);
    }

    [Fact]
    public void Pool_DuplicateHashLeavesSecondBlockUncached_AndDisabledCachingCachesNothing()
    {
        var pool = new BlockPool(3);
        var blocks = pool.GetNewBlocks(2);
        Assert.True(pool.CacheBlock(blocks[0], H(1)));
        Assert.False(pool.CacheBlock(blocks[1], H(1)));
        Assert.Null(blocks[1].BlockHash);
        var off = new BlockPool(2, enablePrefixCaching: false);
        Assert.False(off.CacheBlock(off.GetNewBlocks(1)[0], H(1)));
        Assert.Null(off.GetCachedBlock(H(1)));
    }

    [Fact]
    public void ResetPrefixCache_OnlyWhenNothingHeld()
    {
        var pool = new BlockPool(2);
        var blocks = pool.GetNewBlocks(1);
        pool.CacheBlock(blocks[0], H(1));
        Assert.False(pool.ResetPrefixCache());
        pool.FreeBlocks(blocks);
        Assert.True(pool.ResetPrefixCache());
        Assert.Null(pool.GetCachedBlock(H(1)));
        Assert.Null(blocks[0].BlockHash);
    }

    [Fact]
    public void BlockHasher_IsChained_AndExtraKeysChangeIt()
    {
        var p = Enumerable.Range(0, 8).ToArray();
        var h1 = BlockHasher.HashBlock(null, p, 0, 4, []);
        Assert.Equal(h1, BlockHasher.HashBlock(null, p, 0, 4, []));
        Assert.NotEqual(h1, BlockHasher.HashBlock(null, p, 4, 4, []));
        var h2 = BlockHasher.HashBlock(h1, p, 4, 4, []);
        Assert.NotEqual(h2, BlockHasher.HashBlock(null, p, 4, 4, []));
        Assert.NotEqual(h2, BlockHasher.HashBlock(h2, p, 4, 4, []));
        Assert.NotEqual(h1, BlockHasher.HashBlock(null, p, 0, 4, [1]));
        // parent "none" differs from an all-zero parent
        Assert.NotEqual(h1, BlockHasher.HashBlock(new BlockHash(0, 0), p, 0, 4, []));
    }
}
