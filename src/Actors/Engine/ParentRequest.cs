using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Engine;

/// <summary>
/// Parallel sampling (n &gt; 1) as n child requests sharing the prompt (vLLM's ParentRequest): child i has id
/// "{i}_{parentId}", n = 1, and seed parent seed + i when the parent has a seed. The prefix cache shares the
/// prompt's full blocks between the children.
/// </summary>
public sealed class ParentRequest
{
    readonly Dictionary<string, int> _indexOf = new();
    readonly HashSet<string> _unfinished = new();

    /// <param name="prototype">The request as received (its SamplingParams.N children are made); it is never scheduled itself.</param>
    public ParentRequest(Request prototype)
    {
        ArgumentNullException.ThrowIfNull(prototype);
        RequestId = prototype.RequestId;
        SamplingParams = prototype.SamplingParams;
        var children = new List<Request>(SamplingParams.N);
        for (int i = 0; i < SamplingParams.N; i++)
        {
            var childParams = SamplingParams with { N = 1, Seed = SamplingParams.Seed is long s ? s + i : null };
            var child = prototype.CloneAs(ChildId(i, RequestId), childParams);
            children.Add(child);
            _indexOf[child.RequestId] = i;
            _unfinished.Add(child.RequestId);
        }
        Children = children;
    }

    public string RequestId { get; }
    public SamplingParams SamplingParams { get; }
    public IReadOnlyList<Request> Children { get; }
    public bool IsFinished => _unfinished.Count == 0;

    public static string ChildId(int index, string parentId) => $"{index}_{parentId}";

    /// <summary>The child's index in [0, n), or -1 when the id is not one of this parent's children.</summary>
    public int GetChildIndex(string childId) => _indexOf.GetValueOrDefault(childId, -1);

    /// <summary>Marks a child finished; returns true when that was the last unfinished one.</summary>
    public bool ChildFinished(string childId) => _unfinished.Remove(childId) && _unfinished.Count == 0;
}
