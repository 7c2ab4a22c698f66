using Akka.Actor;
using Pipeline.Actors.Stages;

namespace Pipeline.Actors.Cluster;

/// <summary>
/// A worker node's well-known actor (/user/pipeline-worker): owns the node's replicas, tells front nodes which replicas
/// it serves, and leaves gracefully: on <see cref="DrainNode"/> it tells the fronts, refuses new requests, lets the
/// running ones finish, and hands back to their fronts whatever is still running at the deadline.
/// </summary>
public sealed class WorkerNodeActor : ReceiveActor, IWithTimers
{
    /// <param name="Capacity">Requests the replica holds at once (max_num_seqs plus its waiting queue).</param>
    public sealed record ReplicaSetup(string Device, int Capacity, Func<IActorRef, Props> EngineCoreProps);
    public sealed record DrainNode(TimeSpan Timeout);
    /// <param name="HandedBack">Whether requests were still running at the deadline and went back to their fronts.</param>
    public sealed record NodeDrained(bool HandedBack);
    sealed record DrainDeadline;

    readonly string _node;
    readonly List<(ReplicaInfo Info, IActorRef Ref)> _replicas = new();
    readonly HashSet<IActorRef> _fronts = new();
    readonly HashSet<string> _drained = new();
    IActorRef? _drainReply;

    public ITimerScheduler Timers { get; set; } = null!;

    public WorkerNodeActor(IReadOnlyList<ReplicaSetup> replicas)
    {
        _node = Akka.Cluster.Cluster.Get(Context.System).SelfAddress.ToString();
        for (int i = 0; i < replicas.Count; i++)
        {
            var key = $"{_node}/replica-{i}";
            var r = Context.ActorOf(WorkerReplicaActor.Props(key, replicas[i].EngineCoreProps), $"replica-{i}");
            _replicas.Add((new ReplicaInfo(key, r, replicas[i].Capacity, replicas[i].Device), r));
        }
        Receive<WorkerHello>(h =>
        {
            _fronts.Add(h.Front);
            h.Front.Tell(new WorkerReplicas(_node, _replicas.Select(r => r.Info).ToArray(), _drainReply != null));
        });
        Receive<GetWorkerStats>(_ =>
        {
            var node = _node;
            Task.WhenAll(_replicas.Select(r => r.Ref.Ask<RemoteReplicaStats>(new GetWorkerStats(), TimeSpan.FromSeconds(3))))
                .ContinueWith(t => (object)new RemoteWorkerStats(node, t.Result), TaskContinuationOptions.OnlyOnRanToCompletion)
                .PipeTo(Sender);
        });
        Receive<GetStats>(_ => Task.WhenAll(_replicas.Select(r => r.Ref.Ask<ReplicaStats>(new GetStats(), TimeSpan.FromSeconds(10)))).PipeTo(Sender));
        Receive<DrainNode>(d =>
        {
            _drainReply = Sender;
            foreach (var f in _fronts) f.Tell(new WorkerDraining(_node));
            foreach (var (_, r) in _replicas) r.Tell(new WorkerReplicaActor.Drain());
            Timers.StartSingleTimer("drain", new DrainDeadline(), d.Timeout);
        });
        Receive<WorkerReplicaActor.ReplicaDrained>(r =>
        {
            _drained.Add(r.Key);
            if (_drainReply != null && _drained.Count == _replicas.Count) { _drainReply.Tell(new NodeDrained(false)); Timers.Cancel("drain"); }
        });
        Receive<DrainDeadline>(_ =>
        {
            foreach (var (_, r) in _replicas) r.Tell(new WorkerReplicaActor.HandBackAll());
            _drainReply?.Tell(new NodeDrained(true));
        });
    }

    public static Props Props(IReadOnlyList<ReplicaSetup> replicas) => Akka.Actor.Props.Create(() => new WorkerNodeActor(replicas));
}
