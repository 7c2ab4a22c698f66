using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;

namespace Pipeline.Actors.Cluster;

/// <summary>
/// One replica of a worker node, serving front nodes: owns the replica's engine core (which owns its GPU worker) and
/// stands in for the engine core's detokenizer and load listener, turning engine outputs into <see cref="RemoteOutputs"/>
/// for the front that sent each request. Requests of a front that goes away are aborted. While draining it takes no
/// new requests and reports when its last one ended.
/// </summary>
public sealed class WorkerReplicaActor : ReceiveActor
{
    sealed record Slot(IActorRef Front, string RequestId, int Attempt, int Child);

    readonly string _key;
    readonly IActorRef _core;
    readonly Dictionary<string, Slot> _slots = new();
    readonly Dictionary<(string, int), List<string>> _byRequest = new();
    readonly Dictionary<IActorRef, int> _fronts = new();
    IActorRef? _drainListener;
    int _outstanding;

    /// <summary>Start refusing new requests; <see cref="ReplicaDrained"/> goes to the sender once none runs.</summary>
    public sealed record Drain;
    public sealed record ReplicaDrained(string Key);
    /// <summary>Give every running request back to its front (drain timeout) and abort it here.</summary>
    public sealed record HandBackAll;

    public WorkerReplicaActor(string key, Func<IActorRef, Props> engineCoreProps)
    {
        _key = key;
        _core = Context.ActorOf(engineCoreProps(Self), "engine-core");

        Receive<RemoteAdmit>(OnAdmit);
        Receive<Admitted>(_ => { });
        Receive<TrackRequest>(_ => { });
        Receive<EngineOutputs>(OnOutputs);
        Receive<FinishOutput>(f =>
        {
            if (!_slots.TryGetValue(f.RequestId, out var s)) return;
            s.Front.Tell(new RemoteFinished(s.RequestId, s.Attempt, s.Child, f.Reason, f.Error?.Message));
            Forget(f.RequestId);
        });
        Receive<ReplicaLoad>(l =>
        {
            _outstanding = l.Outstanding;
            foreach (var id in l.Ended) Forget(id);
            MaybeDrained();
        });
        Receive<RemoteAbort>(a =>
        {
            if (!_byRequest.TryGetValue((a.RequestId, a.Attempt), out var ids)) return;
            foreach (var id in ids.ToList()) _core.Tell(new AbortRequest(id));
        });
        Receive<RemoteStop>(s =>
        {
            if (!_byRequest.TryGetValue((s.RequestId, s.Attempt), out var ids)) return;
            var stopped = ids.Where(id => s.Children.Contains(_slots[id].Child)).ToList();
            _core.Tell(new StoppedByString(stopped));
            foreach (var id in stopped) Forget(id);
        });
        Receive<Terminated>(t =>
        {
            // The front is gone, and its clients' connections with it.
            _fronts.Remove(t.ActorRef);
            foreach (var id in _slots.Where(kv => kv.Value.Front.Equals(t.ActorRef)).Select(kv => kv.Key).ToList()) _core.Tell(new AbortRequest(id));
        });
        Receive<Drain>(_ => { _drainListener = Sender; MaybeDrained(); });
        Receive<HandBackAll>(_ =>
        {
            foreach (var (id, s) in _slots.ToList())
            {
                s.Front.Tell(new HandBack(s.RequestId, s.Attempt));
                Forget(id);
                _core.Tell(new AbortRequest(id));
            }
        });
        Receive<GetStats>(g => _core.Forward(g));
        Receive<GetWorkerStats>(_ =>
        {
            var key = _key;
            _core.Ask<ReplicaStats>(new GetStats(), TimeSpan.FromSeconds(3))
                .ContinueWith(t => (object)RemoteReplicaStats.From(key, ReplicaStatsView.From(t.Result)), TaskContinuationOptions.OnlyOnRanToCompletion)
                .PipeTo(Sender);
        });
    }

    bool Draining => _drainListener != null;

    void OnAdmit(RemoteAdmit m)
    {
        if (Draining) { Sender.Tell(new RemoteRefused(m.RequestId, m.Attempt, "the worker is leaving the cluster", Retry: true)); return; }
        List<(Request Request, int Child)> requests;
        try { requests = ToRequests(m); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException or System.Text.Json.JsonException)
        {
            Sender.Tell(new RemoteRefused(m.RequestId, m.Attempt, e.Message, Retry: false));
            return;
        }
        if (!_fronts.ContainsKey(m.Front)) { Context.Watch(m.Front); _fronts[m.Front] = 0; }
        var ids = new List<string>();
        foreach (var (r, child) in requests)
        {
            _slots[r.RequestId] = new Slot(m.Front, m.RequestId, m.Attempt, child);
            ids.Add(r.RequestId);
            var cmd = new GenerateCommand(r.RequestId, PromptInput.FromIds(r.PromptTokenIds), r.SamplingParams, NullOutputSink.Instance, r.Priority, r.CacheSalt);
            _core.Tell(new Admit(new Tokenized(cmd, r, null, null)));
        }
        _byRequest[(m.RequestId, m.Attempt)] = ids;
    }

    /// <summary>
    /// The engine requests of an admission: one per listed child (n &gt; 1 children get ParentRequest's seeds), each
    /// with an id of its own on this worker and the tokens its child already streamed.
    /// </summary>
    public static List<(Request Request, int Child)> ToRequests(RemoteAdmit m)
    {
        var sp = SamplingParamsJson.Read(m.SamplingParamsJson);
        var prototype = new Request(m.RequestId, m.PromptTokenIds, sp, m.EosTokenIds, m.ArrivalTime, m.Priority, m.CacheSalt);
        var children = sp.N > 1 ? new ParentRequest(prototype).Children : [prototype];
        var result = new List<(Request, int)>();
        foreach (var c in m.Children)
        {
            if (c.Index < 0 || c.Index >= children.Count) throw new ArgumentException($"request {m.RequestId} has no child {c.Index}");
            var child = children[c.Index];
            var r = new Request($"{child.RequestId}~{m.Attempt}", m.PromptTokenIds, child.SamplingParams, m.EosTokenIds, m.ArrivalTime, m.Priority, m.CacheSalt);
            if (c.OutputTokenIds.Length > 0) r.ResumeFrom(c.OutputTokenIds);
            result.Add((r, c.Index));
        }
        return result;
    }

    void OnOutputs(EngineOutputs e)
    {
        foreach (var group in e.Outputs.Where(o => _slots.ContainsKey(o.RequestId)).GroupBy(o => _slots[o.RequestId].Front))
        {
            var outputs = group.Select(o =>
            {
                var s = _slots[o.RequestId];
                return new RemoteOutput(s.RequestId, s.Attempt, s.Child, o.NewTokenIds.ToArray(), RequestFlight.ToRemote(o.NewLogprobs),
                    RequestFlight.ToRemote(o.NewPromptLogprobs), o.FinishReason, o.StopReason, o.NumCachedTokens);
            }).ToArray();
            group.Key.Tell(new RemoteOutputs(_key, outputs));
        }
        foreach (var o in e.Outputs) if (o.Finished) Forget(o.RequestId);
    }

    void Forget(string workerId)
    {
        if (!_slots.Remove(workerId, out var s)) return;
        if (_byRequest.TryGetValue((s.RequestId, s.Attempt), out var ids))
        {
            ids.Remove(workerId);
            if (ids.Count == 0) _byRequest.Remove((s.RequestId, s.Attempt));
        }
    }

    void MaybeDrained()
    {
        if (_drainListener != null && _slots.Count == 0 && _outstanding == 0) _drainListener.Tell(new ReplicaDrained(_key));
    }

    // An engine core's scheduler state must survive its own bugs: resume it rather than restart it.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: -1, withinTimeRange: Timeout.InfiniteTimeSpan, localOnlyDecider: _ => Directive.Resume);

    public static Props Props(string key, Func<IActorRef, Props> engineCoreProps) =>
        Akka.Actor.Props.Create(() => new WorkerReplicaActor(key, engineCoreProps));
}

/// <summary>Worker-side requests have no local subscriber: their outputs travel to the front node.</summary>
public sealed class NullOutputSink : IOutputSink
{
    public static readonly NullOutputSink Instance = new();
    public void Write(RequestOutput output) { }
    public void Fail(Exception error) { }
}
