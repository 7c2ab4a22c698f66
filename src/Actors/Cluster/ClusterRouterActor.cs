using Akka.Actor;
using Akka.Cluster;
using Akka.Event;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using ClusterEvent = Akka.Cluster.ClusterEvent;

namespace Pipeline.Actors.Cluster;

/// <summary>
/// A front node's admission stage over the cluster (in place of the in-process replica router): finds worker
/// replicas through cluster membership (each worker node's /user/pipeline-worker lists them), routes each request by
/// prefix affinity and outstanding work (<see cref="PrefixAffinityRouter"/>), answers the ingress stream only once a
/// replica has room (back-pressure across the network), feeds the tokens workers stream back to the local
/// detokenizer, and resumes the requests of a lost worker elsewhere (<see cref="RequestFlight"/>).
/// </summary>
public sealed class ClusterRouterActor : ReceiveActor, IWithTimers
{
    public const string WorkerActorName = "pipeline-worker";

    readonly IActorRef _detokenizer;
    readonly ClusterRouterSettings _settings;
    readonly ReplicaTable _replicas = new();
    readonly PrefixAffinityRouter _router;
    readonly Dictionary<string, RequestFlight> _flights = new();
    readonly LinkedList<RequestFlight> _waiting = new();
    readonly Dictionary<IActorRef, string> _nodeOfRef = new();
    readonly HashSet<Address> _workerMembers = new();
    readonly HashSet<string> _abortedEarly = new();
    readonly Queue<string> _abortedOrder = new();
    readonly Akka.Cluster.Cluster _cluster = Akka.Cluster.Cluster.Get(Context.System);
    readonly ILoggingAdapter _log = Context.GetLogger();
    long _resumed, _failedNoWorker;

    public ITimerScheduler Timers { get; set; } = null!;

    sealed record Tick;

    public ClusterRouterActor(IActorRef detokenizer, ClusterRouterSettings settings)
    {
        _detokenizer = detokenizer;
        _settings = settings;
        _router = new PrefixAffinityRouter(settings.Policy, settings.BlockSize, balanceThreshold: settings.BalanceThreshold);

        Receive<Admit>(OnAdmit);
        Receive<AbortRequest>(a => OnAbort(a.RequestId));
        Receive<RemoteOutputs>(OnOutputs);
        Receive<RemoteFinished>(OnFinished);
        Receive<RemoteRefused>(OnRefused);
        Receive<HandBack>(h =>
        {
            if (Current(h.RequestId, h.Attempt) is not { } f) return;
            _log.Info("request {0} handed back by a draining worker after {1} tokens; resuming it elsewhere", f.RequestId, f.TokensStreamed);
            Resume(f);
            DrainWaiting();
        });
        Receive<StoppedByString>(OnStoppedByString);
        Receive<WorkerReplicas>(w =>
        {
            foreach (var r in w.Replicas)
                if (!_nodeOfRef.ContainsKey(r.Ref)) { _nodeOfRef[r.Ref] = w.Node; Context.Watch(r.Ref); }
            var added = _replicas.Upsert(w.Node, w.Replicas, w.Draining);
            if (added.Count > 0) _log.Info("worker {0}: {1} replica(s) joined ({2})", w.Node, added.Count, string.Join(", ", added));
            DrainWaiting();
        });
        Receive<WorkerDraining>(d =>
        {
            _log.Info("worker {0} is leaving: no new requests go to it", d.Node);
            _replicas.MarkDraining(d.Node);
        });
        Receive<ClusterEvent.MemberUp>(m => OnMemberUsable(m.Member));
        Receive<ClusterEvent.MemberWeaklyUp>(m => OnMemberUsable(m.Member));
        Receive<ClusterEvent.MemberLeft>(m => _replicas.MarkDraining(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberExited>(m => _replicas.MarkDraining(m.Member.Address.ToString()));
        Receive<ClusterEvent.MemberRemoved>(m => { _workerMembers.Remove(m.Member.Address); NodeLost(m.Member.Address.ToString(), "removed from the cluster"); });
        Receive<ClusterEvent.UnreachableMember>(m => NodeLost(m.Member.Address.ToString(), "unreachable"));
        Receive<ClusterEvent.ReachableMember>(m => OnMemberUsable(m.Member));
        Receive<ClusterEvent.IMemberEvent>(_ => { });
        Receive<Terminated>(t =>
        {
            if (_nodeOfRef.Remove(t.ActorRef, out var node)) NodeLost(node, "its replica actor stopped");
        });
        Receive<Tick>(_ => OnTick());
        Receive<GetStats>(_ => StatsAsync().PipeTo(Sender));
        Receive<GetClusterStatus>(_ => StatusAsync().PipeTo(Sender));
    }

    protected override void PreStart()
    {
        _cluster.Subscribe(Self, ClusterEvent.SubscriptionInitialStateMode.InitialStateAsEvents,
            typeof(ClusterEvent.IMemberEvent), typeof(ClusterEvent.IReachabilityEvent));
        Timers.StartPeriodicTimer("tick", new Tick(), TimeSpan.FromMilliseconds(500));
    }

    protected override void PostStop() => _cluster.Unsubscribe(Self);

    void OnMemberUsable(Member m)
    {
        if (!m.HasRole(_settings.WorkerRole) || m.Status is not (MemberStatus.Up or MemberStatus.WeaklyUp)) return;
        _workerMembers.Add(m.Address);
        Hello(m.Address);
    }

    void Hello(Address a) => Context.ActorSelection(new RootActorPath(a) / "user" / WorkerActorName).Tell(new WorkerHello(Self));

    void OnAdmit(Admit a)
    {
        var cmd = a.Input.Command;
        var id = cmd.RequestId;
        if (_abortedEarly.Remove(id))
        {
            cmd.Sink.Fail(new OperationCanceledException($"request {id} was aborted"));
            Sender.Tell(new Admitted(id));
            return;
        }
        var request = a.Input.Request!;
        if (request.MultiModalFeatures.Count > 0 || request.LoraId != null)
        {
            var what = request.LoraId != null ? "LoRA adapters are"
                : request.MultiModalFeatures.Any(f => f.AudioClip != null || f.Audio != null) ? "audio inputs are" : "images are";
            cmd.Sink.Fail(new ArgumentException($"{what} not carried to cluster workers yet; serve this model without --cluster-role to use them"));
            Sender.Tell(new Admitted(id));
            return;
        }
        var flight = new RequestFlight(request, Sender);
        _flights[id] = flight;
        _detokenizer.Tell(new TrackRequest(request, a.Input.Prompt, cmd.Sink));
        if (_waiting.Count > 0 || !Dispatch(flight)) _waiting.AddLast(flight);
    }

    /// <summary>Sends the flight's next attempt to a replica with room; false when none has.</summary>
    bool Dispatch(RequestFlight f)
    {
        var replica = _router.Pick(f.Request.PromptTokenIds, f.Request.CacheSalt, f.Weight, _replicas);
        if (replica == null) return false;
        replica.Outstanding += f.Weight;
        replica.Dispatched++;
        f.Replica = replica.Key;
        f.DispatchedWeight = f.Weight;
        replica.Info.Ref.Tell(f.NextAdmit(Self));
        if (f.AdmitReplyTo != null) { f.AdmitReplyTo.Tell(new Admitted(f.RequestId)); f.AdmitReplyTo = null; }
        return true;
    }

    void DrainWaiting()
    {
        while (_waiting.First is { } node)
        {
            if (!_flights.ContainsKey(node.Value.RequestId)) { _waiting.RemoveFirst(); continue; }
            if (!Dispatch(node.Value)) return;
            _waiting.RemoveFirst();
        }
    }

    RequestFlight? Current(string requestId, int attempt) =>
        _flights.TryGetValue(requestId, out var f) && f.Attempt == attempt && f.Replica != null ? f : null;

    /// <summary>Gives back the capacity the flight holds on its replica.</summary>
    void Release(RequestFlight f, int weight)
    {
        if (f.Replica != null && _replicas.Get(f.Replica) is { } e) e.Outstanding = Math.Max(0, e.Outstanding - weight);
        f.DispatchedWeight -= weight;
    }

    void Complete(RequestFlight f)
    {
        Release(f, f.DispatchedWeight);
        f.Replica = null;
        _flights.Remove(f.RequestId);
        if (f.AdmitReplyTo != null) { f.AdmitReplyTo.Tell(new Admitted(f.RequestId)); f.AdmitReplyTo = null; }
    }

    void OnOutputs(RemoteOutputs m)
    {
        var outputs = new List<EngineCoreOutput>(m.Outputs.Length);
        foreach (var o in m.Outputs)
        {
            if (Current(o.RequestId, o.Attempt) is not { } f || f.Replica != m.ReplicaKey) continue;
            if (f.Accept(o) is not { } eco) continue;
            outputs.Add(eco);
            if (eco.Finished) Release(f, 1);
            if (f.Done) Complete(f);
        }
        if (outputs.Count > 0) _detokenizer.Tell(new EngineOutputs(outputs));
        DrainWaiting();
    }

    void OnFinished(RemoteFinished m)
    {
        if (Current(m.RequestId, m.Attempt) is not { } f) return;
        if (m.Error == null && m.Reason == FinishReason.Abort)
        {
            // Not asked for by this front (that would have ended the flight): the worker gave it up; run it elsewhere.
            Resume(f);
        }
        else
        {
            _replicas.Get(f.Replica!)?.Info.Ref.Tell(new RemoteAbort(f.RequestId, f.Attempt));
            _detokenizer.Tell(new FinishOutput(f.RequestId, m.Reason, m.Error == null ? null : new ClusterWorkerException(f.RequestId, m.Error)));
            Complete(f);
        }
        DrainWaiting();
    }

    void OnRefused(RemoteRefused m)
    {
        if (Current(m.RequestId, m.Attempt) is not { } f) return;
        if (m.Retry)
        {
            if (_replicas.Get(f.Replica!) is { } e) _replicas.MarkDraining(e.Node);
            Resume(f);
        }
        else
        {
            _detokenizer.Tell(new FinishOutput(f.RequestId, FinishReason.Error, new ClusterWorkerException(f.RequestId, m.Reason)));
            Complete(f);
        }
        DrainWaiting();
    }

    void OnAbort(string id)
    {
        if (!_flights.TryGetValue(id, out var f))
        {
            if (_abortedEarly.Add(id)) _abortedOrder.Enqueue(id);
            while (_abortedOrder.Count > 10_000) _abortedEarly.Remove(_abortedOrder.Dequeue());
            return;
        }
        if (f.Replica != null) _replicas.Get(f.Replica)?.Info.Ref.Tell(new RemoteAbort(id, f.Attempt));
        _detokenizer.Tell(new FinishOutput(id, FinishReason.Abort));
        Complete(f);
        DrainWaiting();
    }

    void OnStoppedByString(StoppedByString s)
    {
        foreach (var group in s.EngineRequestIds.Select(e => RequestFlight.ParseEngineId(e, _flights.ContainsKey)).GroupBy(p => p.RequestId))
        {
            if (!_flights.TryGetValue(group.Key, out var f)) continue;
            var stopped = group.Where(p => f.StopChild(p.Child)).Select(p => p.Child).ToArray();
            if (stopped.Length == 0) continue;
            if (f.Replica != null) _replicas.Get(f.Replica)?.Info.Ref.Tell(new RemoteStop(f.RequestId, f.Attempt, stopped));
            Release(f, stopped.Length);
            if (f.Done) Complete(f);
        }
        DrainWaiting();
    }

    /// <summary>Runs the flight's next attempt elsewhere: from its prompt plus what it has streamed.</summary>
    void Resume(RequestFlight f)
    {
        if (f.Replica != null) _replicas.Get(f.Replica)?.Info.Ref.Tell(new RemoteAbort(f.RequestId, f.Attempt));
        Release(f, f.DispatchedWeight);
        f.Replica = null;
        f.WaitingSince = DateTime.UtcNow;
        _resumed++;
        if (!Dispatch(f)) _waiting.AddFirst(f);
    }

    void NodeLost(string node, string why)
    {
        var keys = _replicas.RemoveNode(node);
        if (keys.Count == 0) return;
        foreach (var r in _nodeOfRef.Where(kv => kv.Value == node).Select(kv => kv.Key).ToList()) { _nodeOfRef.Remove(r); Context.Unwatch(r); }
        _router.Forget(keys);
        var lost = _flights.Values.Where(f => f.Replica != null && keys.Contains(f.Replica)).ToList();
        _log.Warning("worker {0} lost ({1}): resuming its {2} request(s) on other workers", node, why, lost.Count);
        foreach (var f in lost)
        {
            f.Replica = null;
            f.DispatchedWeight = 0;
            Resume(f);
        }
        DrainWaiting();
    }

    void OnTick()
    {
        var now = DateTime.UtcNow;
        for (var n = _waiting.First; n != null;)
        {
            var next = n.Next;
            var f = n.Value;
            if (!_flights.ContainsKey(f.RequestId)) _waiting.Remove(n);
            else if (now - f.WaitingSince > _settings.NoWorkerTimeout)
            {
                _waiting.Remove(n);
                _failedNoWorker++;
                _log.Warning("request {0}: no worker could take it within {1}", f.RequestId, _settings.NoWorkerTimeout);
                _detokenizer.Tell(new FinishOutput(f.RequestId, FinishReason.Error, new NoWorkerAvailableException(f.RequestId, now - f.WaitingSince, f.TokensStreamed)));
                Complete(f);
            }
            n = next;
        }
        // Workers whose replicas are not known yet (their actor was not started when they joined) are asked again.
        var known = _replicas.All.Select(r => r.Node).ToHashSet();
        foreach (var a in _workerMembers) if (!known.Contains(a.ToString())) Hello(a);
        DrainWaiting();
    }

    async Task<RemoteWorkerStats[]> WorkerStatsAsync()
    {
        var system = Context.System;
        var nodes = _replicas.All.GroupBy(r => r.Node).Select(g => g.First()).ToList();
        var asks = nodes.Select(async r =>
        {
            try
            {
                var sel = system.ActorSelection(new RootActorPath(Address.Parse(r.Node)) / "user" / WorkerActorName);
                return await sel.Ask<RemoteWorkerStats>(new GetWorkerStats(), TimeSpan.FromSeconds(3));
            }
            catch (Exception) { return null; }
        });
        return (await Task.WhenAll(asks)).OfType<RemoteWorkerStats>().ToArray();
    }

    async Task<ReplicaStats[]> StatsAsync()
    {
        var stats = (await WorkerStatsAsync()).SelectMany(w => w.Replicas).ToList();
        return stats.Select((s, i) => new ReplicaStats(i, new SchedulerStats(s.Running, s.Waiting, s.KvCacheUsage, s.Preemptions, 0,
            s.PrefixCacheQueries, s.PrefixCacheHits, s.Finished), s.Steps, s.Running + s.Waiting + s.Pending, s.Pending)).ToArray();
    }

    async Task<ClusterStatus> StatusAsync()
    {
        // Snapshot the actor's state now; only the workers' answers arrive later.
        var state = _cluster.State;
        var unreachable = state.Unreachable.Select(m => m.Address).ToHashSet();
        var members = state.Members.Select(m => new ClusterMemberStatus(m.Address.ToString(), m.Status.ToString(), m.Roles.ToArray(), !unreachable.Contains(m.Address))).ToArray();
        var replicas = _replicas.All.OrderBy(r => r.Key, StringComparer.Ordinal)
            .Select(r => new ClusterReplicaStatus(r.Key, r.Node, r.Info.Device, r.Capacity, r.Outstanding, r.Draining, r.Dispatched, r.AffinityHits, null)).ToArray();
        var status = new ClusterStatus(_cluster.SelfAddress.ToString(), _cluster.SelfRoles.ToArray(), _settings.Policy.ToString(), members, replicas,
            _flights.Count, _waiting.Count, _router.Routed, _router.AffinityHits, _resumed, _failedNoWorker);
        var engine = (await WorkerStatsAsync()).SelectMany(w => w.Replicas).ToDictionary(r => r.Key);
        return status with { Replicas = replicas.Select(r => r with { Engine = engine.GetValueOrDefault(r.Key) }).ToArray() };
    }

    public static Props Props(IActorRef detokenizer, ClusterRouterSettings settings) =>
        Akka.Actor.Props.Create(() => new ClusterRouterActor(detokenizer, settings));
}
