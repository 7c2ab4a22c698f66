using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Pooling;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// A pooling model's engine core: owns a <see cref="PoolingEngineCore"/> (scheduler and callers), sends its step plans to
/// its GPU worker (one at a time, or two with async scheduling) and answers callers with their rows. Requests that arrive
/// while a step runs are batched into the next one by the token budget. Supervises the worker: a crash restarts it with a
/// fresh executor and fails only the requests of the step it was running. The supervisor never gives up on the worker
/// (an actor stopped for good would leave every later request hanging); crashes in a row space the next step out
/// instead, as the generation engine core does: the first retry at once, then 100 ms doubling to 5 s.
/// </summary>
public sealed class PoolingEngineCoreActor : ReceiveActor, IWithTimers
{
    sealed record ResumeStepping;

    readonly PoolingEngineCore _core;
    readonly IActorRef _worker;
    int _crashesInARow;
    bool _backingOff;

    public ITimerScheduler Timers { get; set; } = null!;

    public PoolingEngineCoreActor(PoolingRunner runner, SchedulerConfig config, Func<IModelExecutor> createExecutor, FaultInjector faults)
    {
        _core = new PoolingEngineCore(runner, config);
        _worker = Context.ActorOf(GpuWorkerActor.Props(createExecutor, faults), "gpu-worker");

        Receive<EncodePooling>(e => { _core.Add(e.RequestId, e.Item, e.Done, e.Priority); MaybeStep(); });
        Receive<AbortRequest>(a => { _core.Abort(a.RequestId); MaybeStep(); });
        // Reports of steps not in flight are stale (dropped by a failure, or sent to a worker of an earlier incarnation).
        Receive<StepDone>(d =>
        {
            if (!_core.IsInFlight(d.StepId)) return;
            _crashesInARow = 0;
            if (_core.Complete(d.StepId, d.Output)) MaybeStep();
        });
        Receive<WorkerFailed>(f =>
        {
            if (!_core.IsInFlight(f.StepId)) return;
            _core.Fail(f.StepId, f.Reason);
            BackOff();
        });
        Receive<ResumeStepping>(_ => { _backingOff = false; MaybeStep(); });
        Receive<WorkerReady>(_ => { });
        Receive<GetStats>(_ =>
        {
            var s = _core.Scheduler.MakeStats();
            Sender.Tell(new PoolingStats(_core.Steps, _core.FailedSteps, _core.NumRequests, s.NumRunningReqs, s.NumWaitingReqs));
        });
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: -1, withinTimeRange: Timeout.InfiniteTimeSpan, localOnlyDecider: _ => Directive.Restart);

    void BackOff()
    {
        _crashesInARow++;
        if (_crashesInARow < 2) { MaybeStep(); return; }
        _backingOff = true;
        var delay = TimeSpan.FromMilliseconds(Math.Min(5000, 100 * Math.Pow(2, Math.Min(_crashesInARow - 2, 10))));
        Timers.StartSingleTimer(nameof(ResumeStepping), new ResumeStepping(), delay);
    }

    void MaybeStep()
    {
        if (_backingOff) return;
        while (_core.NextStep() is { } step) _worker.Tell(new ExecuteStep(step.StepId, step.Plan));
    }

    protected override void PostStop()
    {
        _core.FailAll(new ObjectDisposedException(nameof(AsyncPoolingEngine), "the pooling engine stopped before this request finished"));
        base.PostStop();
    }

    /// <param name="createExecutor">Builds the worker's executor on the device thread (again after each crash).</param>
    public static Props Props(PoolingRunner runner, SchedulerConfig config, Func<IModelExecutor> createExecutor, FaultInjector? faults = null) =>
        Akka.Actor.Props.Create(() => new PoolingEngineCoreActor(runner, config, createExecutor, faults ?? FaultInjector.None));
}
