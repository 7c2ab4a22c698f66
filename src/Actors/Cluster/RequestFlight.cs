using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Cluster;

/// <summary>
/// A front node's record of one client request while a worker runs it: where it runs (replica and attempt), and
/// every token each of its children has streamed so far. That record is what lets the request resume on another
/// worker when its worker is lost: the new attempt starts from the prompt plus these tokens, and outputs of any
/// earlier attempt are dropped, so the client sees each token once and none missing.
/// </summary>
public sealed class RequestFlight
{
    readonly List<int>[] _tokens;
    readonly SortedSet<int> _unfinished = new();

    public RequestFlight(Request request, IActorRef? admitReplyTo)
    {
        Request = request;
        N = request.SamplingParams.N;
        _tokens = Enumerable.Range(0, N).Select(_ => new List<int>()).ToArray();
        for (int i = 0; i < N; i++) _unfinished.Add(i);
        AdmitReplyTo = admitReplyTo;
    }

    public Request Request { get; }
    public string RequestId => Request.RequestId;
    public int N { get; }
    /// <summary>Replicas the request was sent to so far; outputs carry it back.</summary>
    public int Attempt { get; private set; }
    /// <summary>The replica running it now; null while it waits for one.</summary>
    public string? Replica { get; set; }
    /// <summary>Children this front counts against <see cref="Replica"/>'s capacity.</summary>
    public int DispatchedWeight { get; set; }
    /// <summary>The ingress stream's admission ask, answered once a replica has taken the request (back-pressure).</summary>
    public IActorRef? AdmitReplyTo { get; set; }
    /// <summary>When the request started waiting for a replica (for the no-worker timeout).</summary>
    public DateTime WaitingSince { get; set; } = DateTime.UtcNow;
    public int Weight => _unfinished.Count;
    public bool Done => _unfinished.Count == 0;
    public int TokensStreamed => _tokens.Sum(t => t.Count);
    public int Resumes => Math.Max(0, Attempt - 1);
    bool _promptLogprobsDelivered;

    /// <summary>The next attempt's admission: the prompt plus, per unfinished child, the tokens it has streamed.</summary>
    public RemoteAdmit NextAdmit(IActorRef front)
    {
        Attempt++;
        var sp = Request.SamplingParams;
        // Prompt logprobs come with the first output; a resumed run must not send them again.
        if (_promptLogprobsDelivered) sp = sp with { PromptLogprobs = null };
        var children = _unfinished.Select(i => new ResumedChild(i, _tokens[i].ToArray())).ToArray();
        return new RemoteAdmit(RequestId, Attempt, Request.PromptTokenIds.ToArray(), SamplingParamsJson.Write(sp), Request.EosTokenIds.ToArray(),
            Request.Priority, Request.CacheSalt, Request.ArrivalTime, children, front);
    }

    /// <summary>The detokenizer's id of child <paramref name="child"/> (the request's own id when n = 1).</summary>
    public string EngineId(int child) => N == 1 ? RequestId : ParentRequest.ChildId(child, RequestId);

    /// <summary>Takes one output of the current attempt; null when it belongs to a child that already ended.</summary>
    public EngineCoreOutput? Accept(RemoteOutput o)
    {
        if (o.Child < 0 || o.Child >= N || !_unfinished.Contains(o.Child)) return null;
        _tokens[o.Child].AddRange(o.NewTokenIds);
        if (o.NewPromptLogprobs != null) _promptLogprobsDelivered = true;
        if (o.Finish != null) _unfinished.Remove(o.Child);
        return new EngineCoreOutput(EngineId(o.Child), o.NewTokenIds, Convert(o.NewLogprobs), Convert(o.NewPromptLogprobs), o.Finish, o.StopReason, o.NumCachedTokens);
    }

    /// <summary>A stop string ended the child at the front; true when it was still running.</summary>
    public bool StopChild(int child) => _unfinished.Remove(child);

    public IReadOnlyList<int> StreamedTokens(int child) => _tokens[child];

    /// <summary>The (request id, child) a detokenizer engine id names.</summary>
    public static (string RequestId, int Child) ParseEngineId(string engineId, Func<string, bool> isRequest)
    {
        if (isRequest(engineId)) return (engineId, 0);
        int u = engineId.IndexOf('_');
        if (u > 0 && int.TryParse(engineId.AsSpan(0, u), out var child) && isRequest(engineId[(u + 1)..])) return (engineId[(u + 1)..], child);
        return (engineId, -1);
    }

    static IReadOnlyList<TokenLogprobs>? Convert(RemoteLogprobs[]? l) =>
        l?.Select(x => new TokenLogprobs(x.TokenId, x.Logprob, x.Rank, x.TopIds.Zip(x.TopLogprobs).Select(p => (p.First, p.Second)).ToArray())).ToList();

    public static RemoteLogprobs[]? ToRemote(IReadOnlyList<TokenLogprobs>? l) =>
        l?.Select(x => new RemoteLogprobs(x.TokenId, x.Logprob, x.Rank, x.Top.Select(t => t.TokenId).ToArray(), x.Top.Select(t => t.Logprob).ToArray())).ToArray();
}
