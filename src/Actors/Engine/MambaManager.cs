namespace Pipeline.Actors.Engine;

/// <summary>
/// The state slots of a model's state-space layers (vLLM's MambaManager, without prefix caching): a request holds one
/// slot from its first allocation until it finishes or is preempted, whatever its length. The slot indexes every
/// state-space layer's conv and SSM state in the runner's cache; a preempted request gives its slot back and rebuilds
/// the state from its tokens when it resumes.
/// </summary>
public sealed class MambaManager
{
    readonly Queue<int> _free;
    readonly Dictionary<string, int> _slots = new();

    public MambaManager(int numSlots)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(numSlots, 1);
        NumSlots = numSlots;
        _free = new Queue<int>(Enumerable.Range(0, numSlots));
    }

    public int NumSlots { get; }
    public int NumFreeSlots => _free.Count;

    public bool Holds(string requestId) => _slots.ContainsKey(requestId);

    /// <summary>The request's slot, or -1 when it holds none.</summary>
    public int GetSlot(string requestId) => _slots.GetValueOrDefault(requestId, -1);

    /// <summary>Gives the request a slot (its own if it holds one); throws when none is free (check <see cref="NumFreeSlots"/>).</summary>
    public int Allocate(string requestId)
    {
        if (_slots.TryGetValue(requestId, out int held)) return held;
        if (!_free.TryDequeue(out int slot)) throw new InvalidOperationException($"no state slot is free for request {requestId}");
        _slots[requestId] = slot;
        return slot;
    }

    public void Free(string requestId)
    {
        if (_slots.Remove(requestId, out int slot)) _free.Enqueue(slot);
    }
}
