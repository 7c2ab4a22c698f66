namespace Pipeline.Streams.Queue;

/// <summary>
/// One queue of the in-process broker: ready messages in order, and the delivered-but-unsettled ones by delivery
/// tag, which go back to the head of the queue, marked redelivered, when they are nacked with requeue or their
/// "connection" is lost.
/// </summary>
sealed class InProcessQueue(string name)
{
    sealed record Entry(QueueMessage Message, bool Redelivered);
    sealed record Unacked(Entry Entry, Action Release);

    readonly object _gate = new();
    readonly LinkedList<Entry> _ready = new();
    readonly SortedDictionary<long, Unacked> _unacked = new();
    readonly SemaphoreSlim _changed = new(0);
    long _nextTag;

    public string Name { get; } = name;

    public int Count { get { lock (_gate) return _ready.Count; } }
    public int Unsettled { get { lock (_gate) return _unacked.Count; } }

    public void Enqueue(QueueMessage m)
    {
        lock (_gate) _ready.AddLast(new Entry(m, false));
        Pulse();
    }

    /// <summary>Takes the head message without acknowledgement bookkeeping (auto-ack readers).</summary>
    public QueueMessage? TryTake()
    {
        lock (_gate)
        {
            if (_ready.First is not { } first) return null;
            _ready.RemoveFirst();
            return first.Value.Message;
        }
    }

    /// <summary>Takes the head message as unacknowledged; <paramref name="release"/> runs once when it is settled or lost.</summary>
    public (QueueMessage Message, bool Redelivered, long Tag)? TryDeliver(Action release)
    {
        lock (_gate)
        {
            if (_ready.First is not { } first) return null;
            _ready.RemoveFirst();
            long tag = ++_nextTag;
            _unacked[tag] = new Unacked(first.Value, release);
            return (first.Value.Message, first.Value.Redelivered, tag);
        }
    }

    public bool IsUnacked(long tag) { lock (_gate) return _unacked.ContainsKey(tag); }

    /// <summary>Settles a delivery; false when it was already lost with its connection.</summary>
    public bool Settle(long tag, bool requeue)
    {
        Unacked? u;
        lock (_gate)
        {
            if (!_unacked.Remove(tag, out u)) return false;
            if (requeue) _ready.AddFirst(u.Entry with { Redelivered = true });
        }
        u.Release();
        Pulse();
        return true;
    }

    /// <summary>What a broker does when the consumer's connection drops: every unsettled message goes back, in order.</summary>
    public void RequeueAllUnacked()
    {
        List<Unacked> lost;
        lock (_gate)
        {
            lost = _unacked.Values.ToList();
            _unacked.Clear();
            for (int i = lost.Count - 1; i >= 0; i--) _ready.AddFirst(lost[i].Entry with { Redelivered = true });
        }
        foreach (var u in lost) u.Release();
        Pulse();
    }

    public void Pulse() => _changed.Release();

    /// <summary>Waits until something changed (a message arrived, one was settled); spurious wake-ups are fine.</summary>
    public Task WaitAsync(CancellationToken ct) => _changed.WaitAsync(TimeSpan.FromMilliseconds(200), ct);
}
