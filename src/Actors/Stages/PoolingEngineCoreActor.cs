using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Pooling;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// A pooling model's engine core: owns a <see cref="PoolingEngineCore"/> (scheduler and callers), sends one step plan
/// at a time to its GPU worker and answers callers with their rows. Requests that arrive while a step runs are batched
/// into the next one by the token budget. Supervises the worker: a crash restarts it with a fresh executor and fails
/// only the requests of the step it was running.
/// </summary>
public sealed class PoolingEngineCoreActor : ReceiveActor
{
    readonly PoolingEngineCore _core;
    readonly IActorRef _worker;
    long _stepId;

    public PoolingEngineCoreActor(PoolingRunner runner, SchedulerConfig config, Func<IModelExecutor> createExecutor, FaultInjector faults)
    {
        _core = new PoolingEngineCore(runner, config);
        _worker = Context.ActorOf(GpuWorkerActor.Props(createExecutor, faults), "gpu-worker");

        Receive<EncodePooling>(e => { _core.Add(e.RequestId, e.Item, e.Done, e.Priority); MaybeStep(); });
        Receive<AbortRequest>(a => { _core.Abort(a.RequestId); MaybeStep(); });
        Receive<StepDone>(d =>
        {
            if (d.StepId != _stepId || _core.InFlight == null) return;
            _core.Complete(d.Output);
            MaybeStep();
        });
        Receive<WorkerFailed>(f =>
        {
            if (f.StepId != _stepId || _core.InFlight == null) return;
            _core.Fail(f.Reason);
            MaybeStep();
        });
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
        if (_core.NextStep() is { } plan) _worker.Tell(new ExecuteStep(++_stepId, plan));
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
