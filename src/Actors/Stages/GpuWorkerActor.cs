using Akka.Actor;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// The one actor that owns a device: its model runner (weights, KV cache tensors, persistent batch). Runs on
/// a pinned dispatcher so all tensor work for the device stays on one thread. If a step throws, the actor is
/// restarted by its engine core with a fresh runner, and the engine core recomputes the running requests.
/// </summary>
public sealed class GpuWorkerActor : ReceiveActor
{
    readonly Func<ModelRunner> _createRunner;
    readonly FaultInjector _faults;
    ModelRunner? _runner;

    public GpuWorkerActor(Func<ModelRunner> createRunner, FaultInjector faults)
    {
        _createRunner = createRunner;
        _faults = faults;
        Receive<ExecuteStep>(step =>
        {
            _faults.MaybeThrow("gpu");
            _runner ??= _createRunner();
            var output = _runner.Execute(step.Plan);
            Sender.Tell(new StepDone(step.StepId, output));
        });
    }

    protected override void PreRestart(Exception reason, object message)
    {
        if (message is ExecuteStep step) Context.Parent.Tell(new WorkerFailed(step.StepId, reason.Message));
        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        _runner?.Dispose();
        _runner = null;
        base.PostStop();
    }

    public static Props Props(Func<ModelRunner> createRunner, FaultInjector faults) =>
        Akka.Actor.Props.Create(() => new GpuWorkerActor(createRunner, faults)).WithDispatcher(Dispatchers.Gpu);
}
