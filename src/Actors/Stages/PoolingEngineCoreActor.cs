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
/// fresh executor and fails only the requests of the step it was running.
/// </summary>
public sealed class PoolingEngineCoreActor : ReceiveActor
{
    readonly PoolingEngineCore _core;
    readonly IActorRef _worker;

    public PoolingEngineCoreActor(PoolingRunner runner, SchedulerConfig config, Func<IModelExecutor> createExecutor, FaultInjector faults)
    {
        _core = new PoolingEngineCore(runner, config);
        _worker = Context.ActorOf(GpuWorkerActor.Props(createExecutor, faults), "gpu-worker");

        Receive<EncodePooling>(e => { _core.Add(e.RequestId, e.Item, e.Done, e.Priority); MaybeStep(); });
        Receive<AbortRequest>(a => { _core.Abort(a.RequestId); MaybeStep(); });
        // Reports of steps not in flight are stale (dropped by a failure, or sent to a worker of an earlier incarnation).
        Receive<StepDone>(d => { if (_core.IsInFlight(d.StepId) && _core.Complete(d.StepId, d.Output)) MaybeStep(); });
        Receive<WorkerFailed>(f => { if (_core.IsInFlight(f.StepId) && _core.Fail(f.StepId, f.Reason)) MaybeStep(); });
        Receive<WorkerReady>(_ => { });
        Receive<GetStats>(_ =>
        {
            var s = _core.Scheduler.MakeStats();
            Sender.Tell(new PoolingStats(_core.Steps, _core.FailedSteps, _core.NumRequests, s.NumRunningReqs, s.NumWaitingReqs));
        });
    }

    protected override SupervisorStrategy SupervisorStrategy() =>
        new OneForOneStrategy(maxNrOfRetries: 100, withinTimeRange: TimeSpan.FromMinutes(1), localOnlyDecider: _ => Directive.Restart);

    void MaybeStep()
    {
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
