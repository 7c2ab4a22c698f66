namespace Pipeline.Actors.Engine;

/// <summary>
/// The free blocks as a doubly linked list through the blocks themselves (vLLM's FreeKVCacheBlockQueue), in
/// eviction order: allocation pops from the head, freed blocks are appended to the tail (LRU), and a cached
/// block hit by a lookup is removed from the middle in O(1).
/// </summary>
public sealed class FreeKVCacheBlockQueue
{
    readonly KVCacheBlock _head = new(-1);
    readonly KVCacheBlock _tail = new(-1);

    public FreeKVCacheBlockQueue(IEnumerable<KVCacheBlock> blocks)
    {
        _head.NextFree = _tail;
        _tail.PrevFree = _head;
        foreach (var b in blocks) Append(b);
    }

    public int NumFreeBlocks { get; private set; }

    public bool Contains(KVCacheBlock block) => block.PrevFree != null;

    public KVCacheBlock PopLeft()
    {
        var first = _head.NextFree!;
        if (first == _tail) throw new InvalidOperationException("No free blocks.");
        Remove(first);
        return first;
    }

    public void Remove(KVCacheBlock block)
    {
        if (block.PrevFree is not { } prev || block.NextFree is not { } next)
            throw new InvalidOperationException($"Block {block.BlockId} is not in the free queue.");
        prev.NextFree = next;
        next.PrevFree = prev;
        block.PrevFree = block.NextFree = null;
        NumFreeBlocks--;
    }

    public void Append(KVCacheBlock block)
    {
        if (Contains(block)) throw new InvalidOperationException($"Block {block.BlockId} is already in the free queue.");
        var last = _tail.PrevFree!;
        last.NextFree = block;
        block.PrevFree = last;
        block.NextFree = _tail;
        _tail.PrevFree = block;
        NumFreeBlocks++;
    }

    /// <summary>The free blocks from head (next evicted) to tail.</summary>
    public List<KVCacheBlock> GetAllFreeBlocks()
    {
        var list = new List<KVCacheBlock>(NumFreeBlocks);
        for (var b = _head.NextFree!; b != _tail; b = b.NextFree!) list.Add(b);
        return list;
    }
}
