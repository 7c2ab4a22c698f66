namespace Pipeline.Host.Queue;

/// <summary>
/// Request ids whose final event is published and confirmed, the most recent <c>capacity</c> of them (LRU), so a
/// redelivered copy of a finished request is acknowledged without running it again.
/// </summary>
public sealed class FinishedRequests(int capacity = 100_000)
{
    readonly Dictionary<string, LinkedListNode<string>> _index = new();
    readonly LinkedList<string> _order = new();

    public int Count => _index.Count;

    /// <summary>Not thread-safe: the queue service calls it under its own lock.</summary>
    public bool Contains(string requestId)
    {
        if (!_index.TryGetValue(requestId, out var node)) return false;
        _order.Remove(node);
        _order.AddLast(node);
        return true;
    }

    public void Add(string requestId)
    {
        if (Contains(requestId)) return;
        _index[requestId] = _order.AddLast(requestId);
        while (_index.Count > capacity)
        {
            var oldest = _order.First!;
            _order.RemoveFirst();
            _index.Remove(oldest.Value);
        }
    }
}
