namespace Pipeline.Actors.Cluster;

/// <summary>How a front node picks a worker replica.</summary>
public enum ClusterRoutingPolicy
{
    /// <summary>Requests whose prompts share leading blocks go where those blocks were sent before (that replica's prefix cache has them), unless it is overloaded.</summary>
    PrefixAffinity,
    /// <summary>The replica with the least outstanding work.</summary>
    LeastLoad,
}

/// <summary>
/// Cluster-wide routing, as llm-d's and SGLang's routers do it: a prompt's leading full blocks are hashed as a chain
/// (block i's hash covers blocks 0..i, as the prefix cache's block hashes do), and the front remembers which
/// replicas each chain was sent to (up to <see cref="MaxOwners"/>, the most recent kept). A new request goes to the
/// least-loaded replica among the owners of its longest known chain, as long as that replica's outstanding work is
/// within <see cref="BalanceThreshold"/> of the least-loaded one; otherwise, and with no known prefix, to the
/// least-loaded replica (ties in turn). A request spilled that way makes its replica one more owner rather than
/// taking the prefix from the first, so a hot prefix spreads over a few replicas that all cache it instead of moving
/// back and forth. Plain state, driven by the cluster router actor.
/// </summary>
public sealed class PrefixAffinityRouter(ClusterRoutingPolicy policy, int blockSize = 16, int maxBlocks = 64, int balanceThreshold = 8, int maxEntries = 200_000)
{
    /// <summary>Replicas remembered per block chain.</summary>
    public const int MaxOwners = 4;

    readonly Dictionary<ulong, List<(string Replica, long Used)>> _owners = new();
    long _clock;
    int _turn;

    public ClusterRoutingPolicy Policy { get; } = policy;
    public int BalanceThreshold { get; } = balanceThreshold;
    public long AffinityHits { get; private set; }
    public long Routed { get; private set; }

    /// <summary>Picks a replica that can take <paramref name="weight"/> requests now (null: none can) and remembers the prompt's blocks there.</summary>
    public ReplicaEntry? Pick(IReadOnlyList<int> promptTokenIds, string? cacheSalt, int weight, ReplicaTable table)
    {
        var available = table.Available(weight).OrderBy(e => e.Key, StringComparer.Ordinal).ToList();
        if (available.Count == 0) return null;
        int least = available.Min(e => e.Outstanding);
        var ties = available.Where(e => e.Outstanding == least).ToList();
        var chosen = ties[_turn++ % ties.Count];
        if (_turn > 1_000_000) _turn = 0;
        Routed++;
        if (Policy == ClusterRoutingPolicy.LeastLoad) return chosen;

        var hashes = PrefixHashes(promptTokenIds, cacheSalt);
        for (int i = hashes.Length - 1; i >= 0; i--)
        {
            if (!_owners.TryGetValue(hashes[i], out var owners)) continue;
            var e = available.Where(a => owners.Exists(o => o.Replica == a.Key) && a.Outstanding - least <= BalanceThreshold)
                .OrderBy(a => a.Outstanding).FirstOrDefault();
            if (e == null) continue;
            chosen = e;
            AffinityHits++;
            chosen.AffinityHits++;
            break;
        }
        Remember(hashes, chosen.Key);
        return chosen;
    }

    /// <summary>Forgets the prefixes owned by replicas that are gone.</summary>
    public void Forget(IReadOnlyCollection<string> replicaKeys)
    {
        if (replicaKeys.Count == 0) return;
        foreach (var (h, owners) in _owners.ToList())
        {
            owners.RemoveAll(o => replicaKeys.Contains(o.Replica));
            if (owners.Count == 0) _owners.Remove(h);
        }
    }

    void Remember(ulong[] hashes, string replica)
    {
        _clock++;
        foreach (var h in hashes)
        {
            if (!_owners.TryGetValue(h, out var owners)) _owners[h] = owners = new List<(string, long)>(1);
            owners.RemoveAll(o => o.Replica == replica);
            owners.Add((replica, _clock));
            if (owners.Count > MaxOwners) owners.RemoveAt(0);   // kept in use order: the first is the least recent
        }
        if (_owners.Count <= maxEntries) return;
        // Drop the least recently used half.
        var cutoff = _owners.Values.Select(v => v[^1].Used).OrderBy(u => u).ElementAt(_owners.Count / 2);
        foreach (var h in _owners.Where(kv => kv.Value[^1].Used <= cutoff).Select(kv => kv.Key).ToList()) _owners.Remove(h);
    }

    /// <summary>Chained hashes of the prompt's leading full blocks (at most <c>maxBlocks</c>), seeded by the cache salt.</summary>
    public ulong[] PrefixHashes(IReadOnlyList<int> tokens, string? cacheSalt)
    {
        int n = Math.Min(tokens.Count / blockSize, maxBlocks);
        var result = new ulong[n];
        ulong h = 0x9E3779B97F4A7C15UL;
        if (cacheSalt != null) foreach (var c in cacheSalt) h = Mix(h ^ c);
        for (int b = 0; b < n; b++)
        {
            for (int i = b * blockSize; i < (b + 1) * blockSize; i++) h = Mix(h ^ (uint)tokens[i]);
            result[b] = h;
        }
        return result;
    }

    static ulong Mix(ulong x)
    {
        x += 0x9E3779B97F4A7C15UL;
        x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9UL;
        x = (x ^ (x >> 27)) * 0x94D049BB133111EBUL;
        return x ^ (x >> 31);
    }
}
