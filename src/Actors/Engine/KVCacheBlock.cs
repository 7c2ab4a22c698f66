namespace Pipeline.Actors.Engine;

/// <summary>
/// One KV cache block (vLLM's KVCacheBlock): its id (index into the runner's KV tensors), how many requests
/// hold it, and its content hash once it is full and cached. Also a node of the <see cref="FreeKVCacheBlockQueue"/>.
/// </summary>
public sealed class KVCacheBlock
{
    public KVCacheBlock(int blockId) => BlockId = blockId;

    public int BlockId { get; }
    public int RefCount { get; internal set; }
    /// <summary>Set while the block is in the prefix cache (full, hashed); cleared when it is evicted.</summary>
    public BlockHash? BlockHash { get; internal set; }

    // Free-queue links; both null while the block is not in the queue.
    internal KVCacheBlock? PrevFree { get; set; }
    internal KVCacheBlock? NextFree { get; set; }

    public override string ToString() => $"KVCacheBlock({BlockId}, ref={RefCount}, hash={(BlockHash?.ToString() ?? "-")})";
}
