namespace Pipeline.Actors.Engine;

/// <summary>Prefix cache counters since start (vLLM's PrefixCacheStats): lookups, and tokens queried vs hit.</summary>
public sealed class PrefixCacheStats
{
    /// <summary>Requests looked up (counted when the request is admitted with its cache hit).</summary>
    public long Requests { get; internal set; }
    /// <summary>Tokens looked up.</summary>
    public long Queries { get; internal set; }
    /// <summary>Tokens served from the cache.</summary>
    public long Hits { get; internal set; }
    public double HitRate => Queries == 0 ? 0 : (double)Hits / Queries;

    internal void Record(int numTokens, int numHitTokens)
    {
        Requests++;
        Queries += numTokens;
        Hits += numHitTokens;
    }
}
