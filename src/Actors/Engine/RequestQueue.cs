namespace Pipeline.Actors.Engine;

/// <summary>The waiting requests in the order the policy admits them (vLLM's RequestQueue).</summary>
public abstract class RequestQueue
{
    public abstract int Count { get; }
    public abstract Request Peek();
    public abstract Request Pop();
    public abstract void Add(Request request);
    /// <summary>Re-queues a preempted request so it is admitted again as soon as possible (FCFS: at the front).</summary>
    public abstract void AddPreempted(Request request);
    public abstract bool Remove(Request request);
    public abstract IEnumerable<Request> Items { get; }

    public static RequestQueue Create(SchedulingPolicy policy) =>
        policy == SchedulingPolicy.Priority ? new PriorityRequestQueue() : new FcfsRequestQueue();
}

/// <summary>Arrival order; preempted requests go back to the front.</summary>
public sealed class FcfsRequestQueue : RequestQueue
{
    readonly LinkedList<Request> _list = new();

    public override int Count => _list.Count;
    public override Request Peek() => _list.First?.Value ?? throw new InvalidOperationException("Queue is empty.");
    public override Request Pop()
    {
        var r = Peek();
        _list.RemoveFirst();
        return r;
    }
    public override void Add(Request request) => _list.AddLast(request);
    public override void AddPreempted(Request request) => _list.AddFirst(request);
    public override bool Remove(Request request) => _list.Remove(request);
    public override IEnumerable<Request> Items => _list;
}

/// <summary>Ordered by (priority, arrival time, admission order); lower first.</summary>
public sealed class PriorityRequestQueue : RequestQueue
{
    readonly SortedSet<Request> _set = new(PriorityComparer.Instance);

    public override int Count => _set.Count;
    public override Request Peek() => _set.Count > 0 ? _set.Min! : throw new InvalidOperationException("Queue is empty.");
    public override Request Pop()
    {
        var r = Peek();
        _set.Remove(r);
        return r;
    }
    public override void Add(Request request) => _set.Add(request);
    public override void AddPreempted(Request request) => _set.Add(request);
    public override bool Remove(Request request) => _set.Remove(request);
    public override IEnumerable<Request> Items => _set;
}

/// <summary>Compares (priority, arrival time, admission order): smaller is served first and preempted last.</summary>
public sealed class PriorityComparer : IComparer<Request>
{
    public static PriorityComparer Instance { get; } = new();

    public int Compare(Request? x, Request? y)
    {
        if (ReferenceEquals(x, y)) return 0;
        if (x is null) return -1;
        if (y is null) return 1;
        int c = x.Priority.CompareTo(y.Priority);
        if (c != 0) return c;
        c = x.ArrivalTime.CompareTo(y.ArrivalTime);
        return c != 0 ? c : x.Sequence.CompareTo(y.Sequence);
    }
}
