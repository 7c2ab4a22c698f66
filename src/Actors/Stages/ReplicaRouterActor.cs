using Akka.Actor;

namespace Pipeline.Actors.Stages;

/// <summary>
/// Data parallelism: admits each request to the replica (engine core + GPU worker) with the least outstanding
/// work, and routes aborts to the replica holding the request.
/// </summary>
public sealed class ReplicaRouterActor : ReceiveActor
{
    readonly List<IActorRef> _replicas = new();
    readonly Dictionary<string, int> _replicaOf = new();
    // Aborts that overtook their request (cancelled while still being tokenized); bounded.
    readonly HashSet<string> _abortedEarly = new();
    readonly Queue<string> _abortedOrder = new();
    readonly int[] _load;
    readonly long[] _steps;

    public ReplicaRouterActor(Func<IActorRef, int, Props> replicaProps, int count)
    {
        _load = new int[count];
        _steps = new long[count];
        for (int i = 0; i < count; i++) _replicas.Add(Context.ActorOf(replicaProps(Self, i), $"engine-core-{i}"));
        Receive<Admit>(a =>
        {
            var id = a.Input.Command.RequestId;
            if (_abortedEarly.Remove(id))
            {
                a.Input.Command.Sink.Fail(new OperationCanceledException($"request {id} was aborted"));
                Sender.Tell(new Admitted(id));
                return;
            }
            int best = 0;
            for (int i = 1; i < _load.Length; i++) if (_load[i] < _load[best]) best = i;
            _load[best]++;
            _replicaOf[a.Input.Command.RequestId] = best;
            _replicas[best].Forward(a);
        });
        Receive<AbortRequest>(a =>
        {
            if (_replicaOf.TryGetValue(a.RequestId, out var r)) { _replicas[r].Forward(a); return; }
            if (_abortedEarly.Add(a.RequestId)) _abortedOrder.Enqueue(a.RequestId);
            while (_abortedOrder.Count > 10_000) _abortedEarly.Remove(_abortedOrder.Dequeue());
        });
        Receive<ReplicaLoad>(l =>
        {
            _load[l.Replica] = l.Outstanding;
            _steps[l.Replica] = l.Steps;
            foreach (var id in l.Ended) _replicaOf.Remove(id);
        });
        ReceiveAsync<GetStats>(async _ =>
        {
            var sender = Sender;
            var stats = await Task.WhenAll(_replicas.Select(r => r.Ask<ReplicaStats>(new GetStats(), TimeSpan.FromSeconds(10))));
            sender.Tell(stats);
        });
    }

    // An engine core's scheduler state must survive its own bugs: resume it rather than restart it.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: -1, withinTimeRange: Timeout.InfiniteTimeSpan, localOnlyDecider: _ => Directive.Resume);

    public static Props Props(Func<IActorRef, int, Props> replicaProps, int count) =>
        Akka.Actor.Props.Create(() => new ReplicaRouterActor(replicaProps, count));
}
