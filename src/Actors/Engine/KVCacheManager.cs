namespace Pipeline.Actors.Engine;

/// <summary>
/// Maps requests to KV cache blocks (vLLM's KVCacheManager): prefix cache lookup, slot allocation as
/// requests grow, caching of full blocks as their tokens get computed, and freeing. Allocation is per layer group:
/// the attention layers share one block table (full attention keeps every block; when every attention layer slides,
/// blocks wholly outside the window go back to the pool, as vLLM's SlidingWindowManager does), and state-space layers
/// hold one state slot per request (<see cref="MambaManager"/>).
/// </summary>
public sealed class KVCacheManager
{
    readonly Dictionary<string, List<KVCacheBlock>> _reqToBlocks = new();
    readonly Dictionary<string, int> _numCachedBlocks = new();
    /// <summary>Stands in a block table for a block freed because it left the sliding window (vLLM's null block).</summary>
    static readonly KVCacheBlock SkippedBlock = new(-1);

    /// <param name="numStateSlots">State slots for state-space layers (0: the model has none).</param>
    /// <param name="hasAttention">False for a model of state-space layers only: requests then hold no blocks.</param>
    /// <param name="slidingWindow">Set when every attention layer slides: blocks that leave the window are freed.</param>
    public KVCacheManager(int numGpuBlocks, int blockSize = 16, bool enablePrefixCaching = true,
        int numStateSlots = 0, bool hasAttention = true, int? slidingWindow = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(blockSize, 1);
        if (numStateSlots > 0 && enablePrefixCaching)
            throw new ArgumentException("prefix caching is not supported for models with state-space layers (their state covers the whole prefix)");
        if (!hasAttention && numStateSlots == 0) throw new ArgumentException("a model without attention layers keeps state-space state");
        if (slidingWindow is < 1) throw new ArgumentOutOfRangeException(nameof(slidingWindow), slidingWindow, "the sliding window must be positive");
        BlockSize = blockSize;
        EnablePrefixCaching = enablePrefixCaching;
        HasAttention = hasAttention;
        SlidingWindow = slidingWindow;
        BlockPool = new BlockPool(numGpuBlocks, enablePrefixCaching);
        if (numStateSlots > 0) MambaManager = new MambaManager(numStateSlots);
    }

    public int BlockSize { get; }
    public bool EnablePrefixCaching { get; }
    public bool HasAttention { get; }
    public int? SlidingWindow { get; }
    /// <summary>State slots of the state-space layers; null for a model without them.</summary>
    public MambaManager? MambaManager { get; }
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

        bool needsStateSlot = MambaManager != null && !MambaManager.Holds(request.RequestId);
        if (needsStateSlot && MambaManager!.NumFreeSlots == 0) return null;
        if (!firstAllocation && SlidingWindow is int window) RemoveSkippedBlocks(reqBlocks!, request.NumComputedTokens, window);

        int numComputedTokens = request.NumComputedTokens + computedBlocks.NumComputedTokens;
        int numRequired = HasAttention ? CeilDiv(numComputedTokens + numNewTokens, BlockSize) : 0;
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
        if (needsStateSlot) MambaManager!.Allocate(request.RequestId);
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
        for (int i = numCached; i < numFull; i++)
            if (blocks[i] != SkippedBlock) BlockPool.CacheBlock(blocks[i], request.BlockHashes[i]);
        _numCachedBlocks[request.RequestId] = numFull;
    }

    /// <summary>Returns the request's blocks to the pool, tail first, so its last blocks are evicted first.</summary>
    public void Free(Request request)
    {
        MambaManager?.Free(request.RequestId);
        if (!_reqToBlocks.Remove(request.RequestId, out var blocks)) return;
        _numCachedBlocks.Remove(request.RequestId);
        for (int i = blocks.Count - 1; i >= 0; i--)
            if (blocks[i] != SkippedBlock) BlockPool.FreeBlock(blocks[i]);
    }

    /// <summary>The request's state slot for state-space layers, or -1 (none held, or the model has no such layers).</summary>
    public int GetStateSlot(string requestId) => MambaManager?.GetSlot(requestId) ?? -1;

    /// <summary>
    /// Frees the blocks no query can see any more: the next token computed is at <paramref name="numComputedTokens"/>, and
    /// it attends to the <paramref name="window"/> tokens ending at itself, so every block before the one holding token
    /// numComputedTokens - window + 1 is wholly outside every layer's window. Their places in the table keep a stand-in;
    /// the runner's table keeps the old ids, which the backends never read past the window's start.
    /// </summary>
    void RemoveSkippedBlocks(List<KVCacheBlock> blocks, int numComputedTokens, int window)
    {
        int firstUseful = Math.Max(0, numComputedTokens - window + 1) / BlockSize;
        // Tail first, as Free does, so the older blocks are the first to be reused.
        for (int i = Math.Min(firstUseful, blocks.Count) - 1; i >= 0; i--)
        {
            if (blocks[i] == SkippedBlock) break;
            BlockPool.FreeBlock(blocks[i]);
            blocks[i] = SkippedBlock;
        }
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
