namespace Pipeline.Actors.Cluster;

/// <summary>A worker replica as a front node sees it: where it is, how much it holds, how much this front has sent it.</summary>
public sealed class ReplicaEntry(ReplicaInfo info, string node)
{
    public ReplicaInfo Info { get; } = info;
    public string Key => Info.Key;
    public string Node { get; } = node;
    public int Capacity => Info.Capacity;
    /// <summary>Requests (children counted one each) this front has on the replica and that have not ended.</summary>
    public int Outstanding { get; set; }
    public bool Draining { get; set; }
    public long Dispatched { get; set; }
    public long AffinityHits { get; set; }
    public int Free => Capacity - Outstanding;
}

/// <summary>
/// The worker replicas a front node routes to (plain state: the cluster router actor feeds it membership and answers).
/// A replica takes a request only while its outstanding work is below its capacity, so the front never sends more
/// than the cluster admits; what does not fit waits at the front, which back-pressures its ingress (429 when full).
/// </summary>
public sealed class ReplicaTable
{
    readonly Dictionary<string, ReplicaEntry> _replicas = new();

    public IReadOnlyCollection<ReplicaEntry> All => _replicas.Values;
    public ReplicaEntry? Get(string key) => _replicas.GetValueOrDefault(key);
    public int Count => _replicas.Count;

    /// <summary>Adds or refreshes a node's replicas; returns the keys that are new.</summary>
    public IReadOnlyList<string> Upsert(string node, IEnumerable<ReplicaInfo> replicas, bool draining)
    {
        var added = new List<string>();
        foreach (var r in replicas)
        {
            if (!_replicas.TryGetValue(r.Key, out var e)) { _replicas[r.Key] = e = new ReplicaEntry(r, node); added.Add(r.Key); }
            e.Draining = draining;
        }
        return added;
    }

    public void MarkDraining(string node)
    {
        foreach (var e in _replicas.Values) if (e.Node == node) e.Draining = true;
    }

    /// <summary>Forgets a lost node; returns the keys of its replicas.</summary>
    public IReadOnlyList<string> RemoveNode(string node)
    {
        var keys = _replicas.Values.Where(e => e.Node == node).Select(e => e.Key).ToList();
        foreach (var k in keys) _replicas.Remove(k);
        return keys;
    }

    /// <summary>Replicas that can take <paramref name="weight"/> more requests now.</summary>
    public IEnumerable<ReplicaEntry> Available(int weight) => _replicas.Values.Where(e => !e.Draining && e.Free >= weight);

    public bool AnyRoutable => _replicas.Values.Any(e => !e.Draining);
}
