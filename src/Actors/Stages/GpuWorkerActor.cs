using Akka.Actor;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Stages;

/// <summary>
/// The one actor that owns a device: its model executor (a <see cref="ModelRunner"/> with weights, KV cache tensors
/// and persistent batch, or a <see cref="PoolingModelRunner"/>). Runs on a pinned dispatcher so all tensor work for
/// the device stays on one thread. If a step throws, the actor is restarted by its engine core with a fresh executor
/// from the factory, and the engine core decides what happens to the step's requests (recomputed for generation,
/// failed for pooling).
/// </summary>
public sealed class GpuWorkerActor : ReceiveActor
{
    readonly Func<IModelExecutor> _createExecutor;
    readonly FaultInjector _faults;
    IModelExecutor? _executor;

    public GpuWorkerActor(Func<IModelExecutor> createExecutor, FaultInjector faults)
    {
        _createExecutor = createExecutor;
        _faults = faults;
        Receive<ExecuteStep>(step =>
        {
            _faults.MaybeThrow("gpu");
            if (step.Plan.TotalNumScheduledTokens > 0) _faults.MaybeHang("gpu"); // counts steps that compute tokens
            _executor ??= _createExecutor();
            var output = _executor.Execute(step.Plan);
            Sender.Tell(new StepDone(step.StepId, output));
        });
    }

    /// <summary>Builds the executor at start (KV cache, CUDA graphs), not on the first request's clock.</summary>
    protected override void PreStart()
    {
        _executor ??= _createExecutor();
        Context.Parent.Tell(new WorkerReady());
        base.PreStart();
    }

    protected override void PreRestart(Exception reason, object message)
    {
        if (message is ExecuteStep step) Context.Parent.Tell(new WorkerFailed(step.StepId, reason.Message));
        base.PreRestart(reason, message);
    }

    protected override void PostStop()
    {
        (_executor as IDisposable)?.Dispose();
        _executor = null;
        base.PostStop();
    }

    public static Props Props(Func<IModelExecutor> createExecutor, FaultInjector faults) =>
        Akka.Actor.Props.Create(() => new GpuWorkerActor(createExecutor, faults)).WithDispatcher(Dispatchers.Gpu);
}
