using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// One replica's engine core: a thin actor around an <see cref="EngineCore"/> (scheduler and KV block manager). It admits
/// requests while capacity allows (that delay is where back-pressure starts), sends the loop's step plans to its GPU worker
/// (one at a time, or two with async scheduling), folds results back, and forwards engine outputs to the detokenizer.
/// Supervises its GPU worker: a crash restarts the worker and every running request is recomputed.
/// </summary>
public sealed class EngineCoreActor : ReceiveActor
{
    readonly EngineCore _core;
    readonly IActorRef _worker;
    readonly IActorRef _detokenizer;
    readonly IActorRef? _loadListener;
    readonly int _replica;
    readonly int _maxWaiting;
    readonly Queue<(Admit Admit, IActorRef ReplyTo)> _pending = new();
    readonly Dictionary<string, List<string>> _engineIdsByClient = new();
    readonly Dictionary<string, string> _clientByEngineId = new();
    readonly List<string> _ended = new();

    public EngineCoreActor(int replica, SchedulerConfig config, Func<ModelRunner> createRunner, IActorRef detokenizer,
        IActorRef? loadListener, int maxWaiting, FaultInjector faults)
    {
        _replica = replica;
        _core = new EngineCore(new Scheduler(config), EngineCorePolicy.Generation);
        _detokenizer = detokenizer;
        _loadListener = loadListener;
        _maxWaiting = Math.Max(1, maxWaiting);
        _worker = Context.ActorOf(GpuWorkerActor.Props(createRunner, faults), $"gpu-worker-{replica}");

        Receive<Admit>(a => { _pending.Enqueue((a, Sender)); DrainAdmissions(); MaybeStep(); });
        Receive<AbortRequest>(a => { Abort(a.RequestId); MaybeStep(); });
        Receive<StoppedByString>(s => { _core.Finish(s.EngineRequestIds, RequestStatus.FinishedStopped); Forget(s.EngineRequestIds); MaybeStep(); });
        // Reports of steps not in flight are stale (dropped by a failure, or sent to a worker of an earlier incarnation).
        Receive<StepDone>(d => { if (_core.IsInFlight(d.StepId)) OnStepDone(d); });
        Receive<WorkerFailed>(f =>
        {
            if (!_core.IsInFlight(f.StepId)) return;
            _core.Fail(f.StepId, f.Reason);
            MaybeStep();
        });
        Receive<GetStats>(_ => Sender.Tell(new ReplicaStats(_replica, _core.Scheduler.MakeStats(), _core.StepCount, _engineIdsByClient.Count, _pending.Count)));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 100, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart);

    void DrainAdmissions()
    {
        while (_pending.Count > 0 && _core.Scheduler.NumWaiting < _maxWaiting)
        {
            var (admit, replyTo) = _pending.Dequeue();
            var t = admit.Input;
            var request = t.Request!;
            var engineRequests = request.SamplingParams.N > 1 ? new ParentRequest(request).Children : [request];
            _detokenizer.Tell(new TrackRequest(request, t.Prompt, t.Command.Sink));
            try
            {
                foreach (var r in engineRequests) _core.Admit(r);
                var ids = engineRequests.Select(r => r.RequestId).ToList();
                _engineIdsByClient[request.RequestId] = ids;
                foreach (var id in ids) _clientByEngineId[id] = request.RequestId;
            }
            catch (ArgumentException e)
            {
                _core.Abort(engineRequests.Select(r => r.RequestId));
                _detokenizer.Tell(new FinishOutput(request.RequestId, FinishReason.Error, e));
            }
            replyTo.Tell(new Admitted(request.RequestId));
        }
        ReportLoad();
    }

    void Abort(string clientId)
    {
        if (_pending.Any(p => p.Admit.Input.Command.RequestId == clientId))
        {
            var keep = _pending.Where(p => p.Admit.Input.Command.RequestId != clientId).ToList();
            foreach (var p in _pending.Where(p => p.Admit.Input.Command.RequestId == clientId)) p.ReplyTo.Tell(new Admitted(clientId));
            _pending.Clear();
            foreach (var p in keep) _pending.Enqueue(p);
            // Never tracked by the detokenizer: answer the subscriber directly.
            _ended.Add(clientId);
        }
        if (_engineIdsByClient.Remove(clientId, out var ids))
        {
            _core.Abort(ids);
            foreach (var id in ids) _clientByEngineId.Remove(id);
            _ended.Add(clientId);
        }
        _detokenizer.Tell(new FinishOutput(clientId, FinishReason.Abort));
    }

    void OnStepDone(StepDone done)
    {
        var outputs = _core.Complete(done.StepId, done.Output).Outputs;
        if (outputs.Count > 0) _detokenizer.Tell(new EngineOutputs(outputs));
        Forget(outputs.Where(o => o.Finished).Select(o => o.RequestId));
        DrainAdmissions();
        MaybeStep();
    }

    /// <summary>Drops bookkeeping for finished engine requests; a client request ends when all its children have.</summary>
    void Forget(IEnumerable<string> engineIds)
    {
        foreach (var id in engineIds)
        {
            if (!_clientByEngineId.Remove(id, out var client)) continue;
            var list = _engineIdsByClient[client];
            list.Remove(id);
            if (list.Count == 0) { _engineIdsByClient.Remove(client); _ended.Add(client); }
        }
    }

    void MaybeStep()
    {
        bool sent = false;
        while (_core.NextStep() is { } step)
        {
            _worker.Tell(new ExecuteStep(step.StepId, step.Plan));
            sent = true;
        }
        if (sent) ReportLoad();
    }

    void ReportLoad()
    {
        if (_loadListener == null) return;
        _loadListener.Tell(new ReplicaLoad(_replica, _engineIdsByClient.Count + _pending.Count, _core.StepCount, _ended.ToArray()));
        _ended.Clear();
    }

    public static Props Props(int replica, SchedulerConfig config, Func<ModelRunner> createRunner, IActorRef detokenizer, IActorRef? loadListener, int maxWaiting, FaultInjector faults) =>
        Akka.Actor.Props.Create(() => new EngineCoreActor(replica, config, createRunner, detokenizer, loadListener, maxWaiting, faults));
}
