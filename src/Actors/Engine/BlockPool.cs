namespace Pipeline.Actors.Engine;

/// <summary>
/// All KV cache blocks, the free queue and the prefix cache map from block hash to block (vLLM's BlockPool).
/// A block is either held (ref count &gt; 0) or in the free queue; a free block may still be cached and is
/// evicted (its hash dropped from the map) only when it is reallocated.
/// </summary>
public sealed class BlockPool
{
    readonly KVCacheBlock[] _blocks;
    readonly Dictionary<BlockHash, KVCacheBlock> _cachedBlockHashToBlock = new();

    public BlockPool(int numGpuBlocks, bool enablePrefixCaching = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numGpuBlocks, 1);
        NumGpuBlocks = numGpuBlocks;
        EnablePrefixCaching = enablePrefixCaching;
        _blocks = new KVCacheBlock[numGpuBlocks];
        for (int i = 0; i < numGpuBlocks; i++) _blocks[i] = new KVCacheBlock(i);
        FreeBlockQueue = new FreeKVCacheBlockQueue(_blocks);
    }

    public int NumGpuBlocks { get; }
    public bool EnablePrefixCaching { get; }
    public IReadOnlyList<KVCacheBlock> Blocks => _blocks;
    public FreeKVCacheBlockQueue FreeBlockQueue { get; }
    public int NumFreeBlocks => FreeBlockQueue.NumFreeBlocks;
    public int NumCachedBlocks => _cachedBlockHashToBlock.Count;
    /// <summary>Fraction of blocks held by requests, in [0, 1].</summary>
    public double Usage => 1.0 - (double)NumFreeBlocks / NumGpuBlocks;

    public KVCacheBlock? GetCachedBlock(BlockHash hash) => _cachedBlockHashToBlock.GetValueOrDefault(hash);

    /// <summary>Takes <paramref name="count"/> blocks from the head of the free queue, evicting their cached hashes; ref count 1 each.</summary>
    public List<KVCacheBlock> GetNewBlocks(int count)
    {
        if (count > NumFreeBlocks) throw new InvalidOperationException($"Cannot get {count} free blocks: only {NumFreeBlocks} free.");
        var result = new List<KVCacheBlock>(count);
        for (int i = 0; i < count; i++)
        {
            var block = FreeBlockQueue.PopLeft();
            MaybeEvict(block);
            if (block.RefCount != 0) throw new InvalidOperationException($"Free block {block.BlockId} has ref count {block.RefCount}.");
            block.RefCount = 1;
            result.Add(block);
        }
        return result;
    }

    /// <summary>Takes a reference on blocks hit in the prefix cache, pulling free ones out of the free queue.</summary>
    public void Touch(IEnumerable<KVCacheBlock> blocks)
    {
        foreach (var block in blocks)
        {
            if (block.RefCount == 0) FreeBlockQueue.Remove(block);
            block.RefCount++;
        }
    }

    /// <summary>Drops a reference on each block, in the given order; blocks reaching zero go to the free queue's tail.</summary>
    public void FreeBlocks(IEnumerable<KVCacheBlock> orderedBlocks)
    {
        foreach (var block in orderedBlocks) FreeBlock(block);
    }

    public void FreeBlock(KVCacheBlock block)
    {
        if (block.RefCount <= 0) throw new InvalidOperationException($"Block {block.BlockId} freed with ref count {block.RefCount}.");
        if (--block.RefCount == 0) FreeBlockQueue.Append(block);
    }

    /// <summary>Registers a full block under its hash. Returns false (block left uncached) if another block already holds that hash.</summary>
    public bool CacheBlock(KVCacheBlock block, BlockHash hash)
    {
        if (!EnablePrefixCaching) return false;
        if (block.BlockHash is { } existing) return existing == hash;
        if (!_cachedBlockHashToBlock.TryAdd(hash, block)) return false;
        block.BlockHash = hash;
        return true;
    }

    /// <summary>Drops the whole prefix cache; only possible while no block is held. Returns whether it did.</summary>
    public bool ResetPrefixCache()
    {
        if (NumFreeBlocks != NumGpuBlocks) return false;
        foreach (var b in _blocks) b.BlockHash = null;
        _cachedBlockHashToBlock.Clear();
        return true;
    }

    void MaybeEvict(KVCacheBlock block)
    {
        if (block.BlockHash is not { } hash) return;
        if (_cachedBlockHashToBlock.TryGetValue(hash, out var cached) && cached == block) _cachedBlockHashToBlock.Remove(hash);
        block.BlockHash = null;
    }
}
