namespace Pipeline.Actors.Engine;

/// <summary>
/// Maps requests to KV cache blocks (vLLM's KVCacheManager): prefix cache lookup, slot allocation as
/// requests grow, caching of full blocks as their tokens get computed, and freeing.
/// </summary>
public sealed class KVCacheManager
{
    readonly Dictionary<string, List<KVCacheBlock>> _reqToBlocks = new();
    readonly Dictionary<string, int> _numCachedBlocks = new();

    public KVCacheManager(int numGpuBlocks, int blockSize = 16, bool enablePrefixCaching = true)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        BlockSize = blockSize;
        EnablePrefixCaching = enablePrefixCaching;
        BlockPool = new BlockPool(numGpuBlocks, enablePrefixCaching);
    }

    public int BlockSize { get; }
    public bool EnablePrefixCaching { get; }
    public BlockPool BlockPool { get; }
    public PrefixCacheStats PrefixCacheStats { get; } = new();
    /// <summary>Fraction of blocks in use, in [0, 1].</summary>
    public double Usage => BlockPool.Usage;
    public int NumFreeBlocks => BlockPool.NumFreeBlocks;

    /// <summary>
    /// The longest prefix of <paramref name="request"/>'s tokens found in the cache, in whole blocks. Never the
    /// whole sequence: at least the last token is left to compute so the model produces logits for it.
    /// Takes no references; pass the result to <see cref="AllocateSlots"/>.
    /// </summary>
    public ComputedBlocks GetComputedBlocks(Request request)
    {
        // Prompt logprobs need every prompt position computed.
        if (!EnablePrefixCaching || request.SamplingParams.PromptLogprobs is not null) return ComputedBlocks.Empty;
        BlockHasher.UpdateBlockHashes(request, BlockSize);
        int maxBlocks = (request.NumTokens - 1) / BlockSize;
        var hits = new List<KVCacheBlock>();
        var hashes = request.BlockHashes;
        for (int i = 0; i < maxBlocks && i < hashes.Count; i++)
        {
            var block = BlockPool.GetCachedBlock(hashes[i]);
            if (block is null) break;
            hits.Add(block);
        }
        return hits.Count == 0 ? ComputedBlocks.Empty : new ComputedBlocks(hits, hits.Count * BlockSize);
    }

    /// <summary>
    /// Makes room for <paramref name="numNewTokens"/> more tokens after the request's computed tokens plus the
    /// cache hit in <paramref name="computedBlocks"/> (only for a request that holds no blocks yet).
    /// Returns the ids of newly allocated blocks (hit blocks not included), or null, changing nothing, when
    /// there are not enough free blocks.
    /// </summary>
    public IReadOnlyList<int>? AllocateSlots(Request request, int numNewTokens, ComputedBlocks? computedBlocks = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(numNewTokens);
        computedBlocks ??= ComputedBlocks.Empty;
        bool firstAllocation = !_reqToBlocks.TryGetValue(request.RequestId, out var reqBlocks);
        if (!firstAllocation && computedBlocks.Blocks.Count > 0)
            throw new InvalidOperationException($"Request {request.RequestId} already holds blocks; cache hits apply only to its first allocation.");

        int numComputedTokens = request.NumComputedTokens + computedBlocks.NumComputedTokens;
        int numRequired = CeilDiv(numComputedTokens + numNewTokens, BlockSize);
        int numHeld = reqBlocks?.Count ?? 0;
        int numNewBlocks = Math.Max(0, numRequired - numHeld - computedBlocks.Blocks.Count);
        // Hit blocks that are free would leave the free queue when touched.
        int numEvictableHits = 0;
        foreach (var b in computedBlocks.Blocks) if (b.RefCount == 0) numEvictableHits++;
        if (numNewBlocks > BlockPool.NumFreeBlocks - numEvictableHits) return null;

        if (reqBlocks is null)
        {
            reqBlocks = new List<KVCacheBlock>(numRequired);
            _reqToBlocks[request.RequestId] = reqBlocks;
            _numCachedBlocks[request.RequestId] = computedBlocks.Blocks.Count;
            if (EnablePrefixCaching) PrefixCacheStats.Record(request.NumTokens, computedBlocks.NumComputedTokens);
        }
        // Touch hits before allocating so allocation cannot evict them.
        BlockPool.Touch(computedBlocks.Blocks);
        reqBlocks.AddRange(computedBlocks.Blocks);
        if (numNewBlocks == 0) return Array.Empty<int>();
        var newBlocks = BlockPool.GetNewBlocks(numNewBlocks);
        reqBlocks.AddRange(newBlocks);
        var ids = new int[newBlocks.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = newBlocks[i].BlockId;
        return ids;
    }

    /// <summary>
    /// Puts the request's full blocks whose tokens are all computed (first <paramref name="numComputedTokens"/>
    /// tokens) into the prefix cache.
    /// </summary>
    public void CacheFullBlocks(Request request, int numComputedTokens)
    {
        if (!EnablePrefixCaching || !_reqToBlocks.TryGetValue(request.RequestId, out var blocks)) return;
        int numFull = Math.Min(Math.Min(numComputedTokens, request.NumTokens) / BlockSize, blocks.Count);
        int numCached = _numCachedBlocks[request.RequestId];
        if (numFull <= numCached) return;
        BlockHasher.UpdateBlockHashes(request, BlockSize);
        for (int i = numCached; i < numFull; i++) BlockPool.CacheBlock(blocks[i], request.BlockHashes[i]);
        _numCachedBlocks[request.RequestId] = numFull;
    }

    /// <summary>Returns the request's blocks to the pool, tail first, so its last blocks are evicted first.</summary>
    public void Free(Request request)
    {
        if (!_reqToBlocks.Remove(request.RequestId, out var blocks)) return;
        _numCachedBlocks.Remove(request.RequestId);
        for (int i = blocks.Count - 1; i >= 0; i--) BlockPool.FreeBlock(blocks[i]);
    }

    /// <summary>The request's block ids in order (empty when it holds none).</summary>
    public IReadOnlyList<int> GetBlockIds(string requestId)
    {
        if (!_reqToBlocks.TryGetValue(requestId, out var blocks)) return Array.Empty<int>();
        var ids = new int[blocks.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = blocks[i].BlockId;
        return ids;
    }

    public bool ResetPrefixCache() => BlockPool.ResetPrefixCache();

    internal IReadOnlyList<KVCacheBlock> GetBlocks(string requestId) =>
        _reqToBlocks.TryGetValue(requestId, out var blocks) ? blocks : Array.Empty<KVCacheBlock>();

    internal IEnumerable<string> RequestsHoldingBlocks => _reqToBlocks.Keys;

    static int CeilDiv(int a, int b) => (a + b - 1) / b;
}
