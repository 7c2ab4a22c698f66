using Akka.Actor;
using Akka.Event;
using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// One replica's engine core: a thin actor around an <see cref="EngineCore"/> (scheduler and KV block manager). It admits
/// requests while capacity allows (that delay is where back-pressure starts), sends the loop's step plans to its GPU worker
/// (one at a time, or two with async scheduling), folds results back, and forwards engine outputs to the detokenizer.
/// Supervises its GPU worker: a crash restarts the worker and every running request is recomputed (a request whose steps keep
/// failing ends with an error); crashes in a row space the next step out by a growing backoff. A step watchdog
/// (<see cref="StepWatchdog"/>) catches a step that hangs: its requests end with an error, the replica reports unhealthy,
/// and the worker is abandoned for a fresh one (or the process exits, as configured).
/// </summary>
public sealed class EngineCoreActor : ReceiveActor, IWithTimers
{
    readonly EngineCore _core;
    readonly Func<ModelRunner> _createRunner;
    readonly FaultInjector _faults;
    readonly StepWatchdog _watchdog;
    readonly EngineHealth _health;
    readonly Akka.Event.ILoggingAdapter _log = Akka.Event.Logging.GetLogger(Context);
    IActorRef _worker;
    int _incarnation;
    int _crashesInARow;
    bool _backingOff;
    readonly IActorRef _detokenizer;
    readonly IActorRef? _loadListener;
    readonly int _replica;
    readonly int _maxWaiting;
    readonly Queue<(Admit Admit, IActorRef ReplyTo)> _pending = new();
    readonly Dictionary<string, List<string>> _engineIdsByClient = new();
    readonly Dictionary<string, string> _clientByEngineId = new();
    readonly List<string> _ended = new();

    public ITimerScheduler Timers { get; set; } = null!;

    public EngineCoreActor(int replica, SchedulerConfig config, Func<ModelRunner> createRunner, IActorRef detokenizer,
        IActorRef? loadListener, int maxWaiting, FaultInjector faults, StepWatchdogConfig? watchdog = null, EngineHealth? health = null)
    {
        _createRunner = createRunner;
        _faults = faults;
        _watchdog = new StepWatchdog(watchdog ?? StepWatchdogConfig.Off);
        _health = health ?? new EngineHealth();
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
            _watchdog.Reset(); // the supervisor restarts the worker: nothing in flight, every shape new to it
            FailRequests(_core.Fail(f.StepId, f.Reason).Outputs.Select(o => o.RequestId), f.Reason);
            DrainAdmissions();
            BackOff();
        });
        Receive<WorkerReady>(_ => { if (Sender.Equals(_worker)) _health.Recovered(_replica); });
        Receive<WatchdogTick>(_ => CheckWatchdog());
        Receive<ResumeStepping>(_ => { _backingOff = false; MaybeStep(); });
        Receive<GetStats>(_ => Sender.Tell(new ReplicaStats(_replica, _core.Scheduler.MakeStats(), _core.StepCount, _engineIdsByClient.Count, _pending.Count)));
    }

    // Never give up on the device (an actor stopped for good would leave every request hanging); BackOff spaces crash loops out.
    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: -1, withinTimeRange: Timeout.InfiniteTimeSpan, localOnlyDecider: _ => Directive.Restart);

    protected override void PreStart()
    {
        if (_watchdog.Config.Enabled)
        {
            var tick = TimeSpan.FromTicks(Math.Clamp(_watchdog.Config.StepTimeout.Ticks / 5, TimeSpan.FromMilliseconds(10).Ticks, TimeSpan.FromSeconds(1).Ticks));
            Timers.StartPeriodicTimer("watchdog", new WatchdogTick(), tick);
        }
        base.PreStart();
    }

    /// <summary>After the first crash in a row the next step goes out at once; after more, 100 ms doubling up to 5 s.</summary>
    void BackOff()
    {
        _crashesInARow++;
        if (_crashesInARow < 2) { MaybeStep(); return; }
        _backingOff = true;
        var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(_crashesInARow - 2, 10))));
        Timers.StartSingleTimer("resume", new ResumeStepping(), delay);
    }

    void CheckWatchdog()
    {
        if (_watchdog.Overdue(DateTime.UtcNow) is not { } overdue || !_core.IsInFlight(overdue.StepId)) return;
        var reason = overdue.Describe(_replica);
        _health.StepTimedOut(_replica, reason);
        _log.Error("step watchdog: {0}; failing its requests and {1}", reason,
            _watchdog.Config.Action == StepTimeoutAction.Exit ? "exiting" : "starting a fresh GPU worker");
        FailRequests(_core.Fail(overdue.StepId, reason, failItsRequests: true).Outputs.Select(o => o.RequestId), reason);
        _watchdog.Reset();
        if (_watchdog.Config.Action == StepTimeoutAction.Exit)
        {
            _health.RequestExit(reason);
            return;
        }
        // The hung thread cannot be interrupted: the old worker stops when (if) its call returns, and frees its runner then.
        Context.Stop(_worker);
        _worker = Context.ActorOf(GpuWorkerActor.Props(_createRunner, _faults), $"gpu-worker-{_replica}-{++_incarnation}");
        _health.WorkerRestarted();
        DrainAdmissions();
        MaybeStep();
    }

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

    /// <summary>Ends the client requests of these engine requests with an explicit error (their device step kept failing).</summary>
    void FailRequests(IEnumerable<string> engineIds, string reason)
    {
        foreach (var client in engineIds.Select(id => _clientByEngineId.GetValueOrDefault(id)).OfType<string>().Distinct().ToList())
        {
            if (!_engineIdsByClient.Remove(client, out var ids)) continue;
            _core.Abort(ids); // the other choices of an n > 1 request
            foreach (var id in ids) _clientByEngineId.Remove(id);
            _ended.Add(client);
            _detokenizer.Tell(new FinishOutput(client, FinishReason.Error, new PipelineStageException("gpu", client, new DeviceStepException(reason))));
        }
    }

    void OnStepDone(StepDone done)
    {
        _watchdog.Finished(done.StepId, DateTime.UtcNow);
        _crashesInARow = 0;
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
        if (_backingOff) return;
        bool sent = false;
        while (_core.NextStep() is { } step)
        {
            _watchdog.Sent(step.StepId, step.Plan, DateTime.UtcNow);
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

    public static Props Props(int replica, SchedulerConfig config, Func<ModelRunner> createRunner, IActorRef detokenizer, IActorRef? loadListener,
        int maxWaiting, FaultInjector faults, StepWatchdogConfig? watchdog = null, EngineHealth? health = null) =>
        Akka.Actor.Props.Create(() => new EngineCoreActor(replica, config, createRunner, detokenizer, loadListener, maxWaiting, faults, watchdog, health));

    sealed record ResumeStepping;
}
