namespace Pipeline.Actors.Engine;

/// <summary>
/// The scheduler's view of the runner's encoder cache (vLLM's EncoderCacheManager): which images' encoder outputs the
/// runner holds, keyed by the image hash, and how many of the cache's <see cref="CacheSize"/> embedding rows they take.
/// A request references each image it still has to compute; an entry no request references stays cached (so a later
/// request with the same image skips the encoder) until its room is needed, then it is evicted oldest first and its
/// hash is reported to the runner (<see cref="TakeFreedMmHashes"/>).
/// </summary>
public sealed class EncoderCacheManager(int cacheSize)
{
    readonly Dictionary<string, (int Tokens, HashSet<string> Refs)> _cached = new();
    /// <summary>Entries no request references, oldest first (an insertion-ordered LRU).</summary>
    readonly LinkedList<string> _freeable = new();
    readonly Dictionary<string, LinkedListNode<string>> _freeableNodes = new();
    readonly List<string> _freed = new();

    public int CacheSize { get; } = cacheSize;
    /// <summary>Rows not held by any entry.</summary>
    public int NumFreeSlots { get; private set; } = cacheSize;
    /// <summary>Rows free or held only by entries no request references (reclaimable by eviction).</summary>
    public int NumFreeableSlots { get; private set; } = cacheSize;
    public int NumCached => _cached.Count;

    public bool IsCached(string hash) => _cached.ContainsKey(hash);

    /// <summary>Whether the image's output is cached; if so the request now references it.</summary>
    public bool CheckAndUpdateCache(string requestId, MultiModalFeature input)
    {
        if (!_cached.TryGetValue(input.Hash, out var entry)) return false;
        if (entry.Refs.Count == 0 && _freeableNodes.Remove(input.Hash, out var node))
        {
            _freeable.Remove(node);
            NumFreeableSlots -= entry.Tokens;
        }
        entry.Refs.Add(requestId);
        return true;
    }

    /// <summary>
    /// Whether an image of <paramref name="tokens"/> rows fits this step's remaining encoder budget and, together with the
    /// <paramref name="tokensScheduled"/> rows already planned this step, the cache, evicting unreferenced entries when
    /// that makes room.
    /// </summary>
    public bool CanAllocate(int tokens, int encoderComputeBudget, int tokensScheduled)
    {
        if (tokens > encoderComputeBudget) return false;
        int needed = tokens + tokensScheduled;
        if (needed <= NumFreeSlots) return true;
        if (needed > NumFreeableSlots) return false;
        while (NumFreeSlots < needed)
        {
            var hash = _freeable.First!.Value;
            _freeable.RemoveFirst();
            _freeableNodes.Remove(hash);
            NumFreeSlots += _cached[hash].Tokens;
            _cached.Remove(hash);
            _freed.Add(hash);
        }
        return true;
    }

    /// <summary>Reserves the image's rows (once per hash: a second request scheduling it in the same step only references it).</summary>
    public void Allocate(string requestId, MultiModalFeature input)
    {
        if (_cached.TryGetValue(input.Hash, out var entry))
        {
            CheckAndUpdateCache(requestId, input);
            return;
        }
        _cached[input.Hash] = (input.Length, new HashSet<string> { requestId });
        NumFreeSlots -= input.Length;
        NumFreeableSlots -= input.Length;
    }

    /// <summary>The request no longer needs the image (computed into its KV cache): the entry may be evicted when no one else references it.</summary>
    public void FreeEncoderInput(string requestId, MultiModalFeature input)
    {
        if (!_cached.TryGetValue(input.Hash, out var entry) || !entry.Refs.Remove(requestId) || entry.Refs.Count > 0) return;
        _freeableNodes[input.Hash] = _freeable.AddLast(input.Hash);
        NumFreeableSlots += entry.Tokens;
    }

    /// <summary>Drops every reference the request holds (finished or preempted).</summary>
    public void Free(Request request)
    {
        foreach (var f in request.MultiModalFeatures) FreeEncoderInput(request.RequestId, f);
    }

    /// <summary>Hashes evicted since the last call: the runner drops their outputs.</summary>
    public IReadOnlyList<string> TakeFreedMmHashes()
    {
        if (_freed.Count == 0) return [];
        var list = _freed.ToList();
        _freed.Clear();
        return list;
    }

    /// <summary>Forgets everything (the runner lost its state); the runner's cache starts empty too.</summary>
    public void Reset()
    {
        _cached.Clear();
        _freeable.Clear();
        _freeableNodes.Clear();
        _freed.Clear();
        NumFreeSlots = NumFreeableSlots = CacheSize;
    }
}
