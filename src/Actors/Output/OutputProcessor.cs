using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Models.Tokenizers;

namespace Pipeline.Actors.Output;

/// <summary>
/// Turns engine-core outputs into client <see cref="RequestOutput"/>s (vLLM's OutputProcessor): routes each
/// child of an n &gt; 1 request to its sample index, detokenizes, applies stop strings and output kinds, and
/// reports which engine requests a stop string ended so the engine can free them at once.
/// </summary>
public sealed class OutputProcessor(HfTokenizer? tokenizer)
{
    readonly Dictionary<string, RequestState> _requests = new();
    readonly Dictionary<string, (string Parent, int Index)> _engineIds = new();

    public int NumUnfinished => _requests.Count;

    /// <summary>Registers a client request; returns the engine requests to add (its n children, or itself).</summary>
    public IReadOnlyList<Request> AddRequest(Request request, string? prompt)
    {
        if (_requests.ContainsKey(request.RequestId)) throw new ArgumentException($"request id '{request.RequestId}' is already in use");
        var sp = request.SamplingParams;
        _requests[request.RequestId] = new RequestState(request.RequestId, prompt, request.PromptTokenIds, sp, tokenizer);
        if (sp.N == 1)
        {
            _engineIds[request.RequestId] = (request.RequestId, 0);
            return [request];
        }
        var parent = new ParentRequest(request);
        foreach (var c in parent.Children) _engineIds[c.RequestId] = (request.RequestId, parent.GetChildIndex(c.RequestId));
        return parent.Children;
    }

    /// <summary>The client request an engine request (or n &gt; 1 child) belongs to, if it is still tracked.</summary>
    public string? ClientIdOf(string engineRequestId) => _engineIds.TryGetValue(engineRequestId, out var r) ? r.Parent : null;

    public bool IsTracked(string requestId) => _requests.ContainsKey(requestId);

    /// <summary>Engine request ids belonging to a client request (for aborts).</summary>
    public IReadOnlyList<string> EngineIdsOf(string requestId) =>
        _engineIds.Where(kv => kv.Value.Parent == requestId).Select(kv => kv.Key).ToList();

    public (List<RequestOutput> Outputs, List<string> StoppedEngineIds) Process(IReadOnlyList<EngineCoreOutput> engineOutputs)
    {
        var outputs = new List<RequestOutput>();
        var stopped = new List<string>();
        foreach (var o in engineOutputs)
        {
            if (!_engineIds.TryGetValue(o.RequestId, out var route)) continue; // aborted earlier
            var state = _requests[route.Parent];
            var (update, byString) = state.Apply(route.Index, o);
            if (byString) stopped.Add(o.RequestId);
            if (o.Finished || byString) _engineIds.Remove(o.RequestId);
            if (update != null) outputs.Add(update);
            if (state.Finished) _requests.Remove(route.Parent);
        }
        return (outputs, stopped);
    }

    /// <summary>Ends a client request (abort or error) and returns its final output, or null if unknown.</summary>
    public RequestOutput? Finish(string requestId, FinishReason reason)
    {
        if (!_requests.Remove(requestId, out var state)) return null;
        foreach (var id in EngineIdsOf(requestId)) _engineIds.Remove(id);
        return state.FinishAll(reason);
    }
}
