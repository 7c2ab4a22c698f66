using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// One replica's engine core: owns the scheduler and KV block manager, admits requests while capacity allows
/// (that delay is where back-pressure starts), sends one step plan at a time to its GPU worker, folds results
/// back, and forwards engine outputs to the detokenizer. Supervises its GPU worker: a crash restarts the worker
/// and every running request is recomputed.
/// </summary>
public sealed class EngineCoreActor : ReceiveActor
{
    readonly Scheduler _scheduler;
    readonly IActorRef _worker;
    readonly IActorRef _detokenizer;
    readonly IActorRef? _loadListener;
    readonly int _replica;
    readonly int _maxWaiting;
    readonly Queue<(Admit Admit, IActorRef ReplyTo)> _pending = new();
    readonly Dictionary<string, List<string>> _engineIdsByClient = new();
    readonly Dictionary<string, string> _clientByEngineId = new();
    readonly List<string> _ended = new();
    SchedulerOutput? _inFlight;
    long _stepId;
    long _steps;

    public EngineCoreActor(int replica, SchedulerConfig config, Func<ModelRunner> createRunner, IActorRef detokenizer,
        IActorRef? loadListener, int maxWaiting, FaultInjector faults)
    {
        _replica = replica;
        _scheduler = new Scheduler(config);
        _detokenizer = detokenizer;
        _loadListener = loadListener;
        _maxWaiting = Math.Max(1, maxWaiting);
        _worker = Context.ActorOf(GpuWorkerActor.Props(createRunner, faults), $"gpu-worker-{replica}");

        Receive<Admit>(a => { _pending.Enqueue((a, Sender)); DrainAdmissions(); MaybeStep(); });
        Receive<AbortRequest>(a => { Abort(a.RequestId); MaybeStep(); });
        Receive<StoppedByString>(s => { _scheduler.FinishRequests(s.EngineRequestIds, RequestStatus.FinishedStopped); Forget(s.EngineRequestIds); MaybeStep(); });
        Receive<StepDone>(OnStepDone);
        Receive<WorkerFailed>(f =>
        {
            if (_inFlight == null || f.StepId != _stepId) return;
            _inFlight = null;
            _scheduler.PreemptAllRunning();
            MaybeStep();
        });
        Receive<GetStats>(_ => Sender.Tell(new ReplicaStats(_replica, _scheduler.MakeStats(), _steps, _engineIdsByClient.Count, _pending.Count)));
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 100, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart);

    void DrainAdmissions()
    {
        while (_pending.Count > 0 && _scheduler.NumWaiting < _maxWaiting)
        {
            var (admit, replyTo) = _pending.Dequeue();
            var t = admit.Input;
            var request = t.Request!;
            var engineRequests = request.SamplingParams.N > 1 ? new ParentRequest(request).Children : [request];
            _detokenizer.Tell(new TrackRequest(request, t.Prompt, t.Command.Sink));
            try
            {
                foreach (var r in engineRequests) _scheduler.AddRequest(r);
                var ids = engineRequests.Select(r => r.RequestId).ToList();
                _engineIdsByClient[request.RequestId] = ids;
                foreach (var id in ids) _clientByEngineId[id] = request.RequestId;
            }
            catch (ArgumentException e)
            {
                _scheduler.AbortRequests(engineRequests.Select(r => r.RequestId));
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
            _scheduler.AbortRequests(ids);
            foreach (var id in ids) _clientByEngineId.Remove(id);
            _ended.Add(clientId);
        }
        _detokenizer.Tell(new FinishOutput(clientId, FinishReason.Abort));
    }

    void OnStepDone(StepDone done)
    {
        if (_inFlight == null || done.StepId != _stepId) return;
        var plan = _inFlight;
        _inFlight = null;
        _steps++;
        var outputs = _scheduler.UpdateFromOutput(plan, done.Output);
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
        if (_inFlight != null) return;
        if (!_scheduler.HasUnfinishedRequests && !_scheduler.HasFinishedRequests) return;
        var plan = _scheduler.Schedule();
        if (plan.TotalNumScheduledTokens == 0 && plan.FinishedReqIds.Count == 0 && plan.PreemptedReqIds.Count == 0) return;
        _inFlight = plan;
        _worker.Tell(new ExecuteStep(++_stepId, plan));
        ReportLoad();
    }

    void ReportLoad()
    {
        if (_loadListener == null) return;
        _loadListener.Tell(new ReplicaLoad(_replica, _engineIdsByClient.Count + _pending.Count, _steps, _ended.ToArray()));
        _ended.Clear();
    }

    public static Props Props(int replica, SchedulerConfig config, Func<ModelRunner> createRunner, IActorRef detokenizer, IActorRef? loadListener, int maxWaiting, FaultInjector faults) =>
        Akka.Actor.Props.Create(() => new EngineCoreActor(replica, config, createRunner, detokenizer, loadListener, maxWaiting, faults));
}
