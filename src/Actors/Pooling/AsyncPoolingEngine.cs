using Akka.Actor;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Pooling;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Pooling;

/// <summary>
/// Serves a pooling model to many callers through the actor stages (vLLM's AsyncLLM for pooling): a
/// <see cref="PoolingEngineCoreActor"/> schedules requests by token budget and its GPU worker actor runs each step on
/// the device's pinned thread. At most <c>capacity</c> requests are in the engine; further callers wait for a slot.
/// A cancelled caller's request is aborted.
/// </summary>
public sealed class AsyncPoolingEngine : IAsyncDisposable
{
    readonly IActorRef _core;
    readonly SemaphoreSlim _slots;
    readonly int _capacity;
    long _nextId;
    volatile bool _stopping;

    AsyncPoolingEngine(IActorRef core, PoolingRunner runner, int capacity)
    {
        _core = core;
        Runner = runner;
        _capacity = capacity;
        _slots = new SemaphoreSlim(capacity, capacity);
    }

    /// <param name="createExecutor">The worker's executor (default: a <see cref="PoolingModelRunner"/> over <paramref name="runner"/>).</param>
    public static AsyncPoolingEngine Start(ActorSystem system, PoolingRunner runner, SchedulerConfig config, int capacity = 1024,
        FaultInjector? faults = null, Func<IModelExecutor>? createExecutor = null, string? name = null)
    {
        var props = PoolingEngineCoreActor.Props(runner, config, createExecutor ?? (() => new PoolingModelRunner(runner)), faults);
        return new AsyncPoolingEngine(name == null ? system.ActorOf(props) : system.ActorOf(props, name), runner, Math.Max(1, capacity));
    }

    public PoolingRunner Runner { get; }

    /// <summary>Engine steps run so far (each one forward over a batch), failed ones, and the requests in the engine.</summary>
    public Task<PoolingStats> GetStatsAsync() => _core.Ask<PoolingStats>(new GetStats(), TimeSpan.FromSeconds(10));

    /// <summary>
    /// The rows of one request (see <see cref="PoolingRunner.Run"/>). A bad request fails with <see cref="PoolingException"/>;
    /// one whose step failed on the device with <see cref="PipelineStageException"/>.
    /// </summary>
    public async Task<float[][]> EncodeAsync(PoolingItem item, CancellationToken ct = default)
    {
        ObjectDisposedException.ThrowIf(_stopping, this);
        Runner.Check(item);
        await _slots.WaitAsync(ct).ConfigureAwait(false);
        try
        {
            ObjectDisposedException.ThrowIf(_stopping, this);
            var id = "pool-" + Interlocked.Increment(ref _nextId);
            var done = new TaskCompletionSource<float[][]>(TaskCreationOptions.RunContinuationsAsynchronously);
            _core.Tell(new EncodePooling(id, item, done));
            await using var abort = ct.Register(() => _core.Tell(new AbortRequest(id)));
            return await done.Task.WaitAsync(ct).ConfigureAwait(false);
        }
        finally { _slots.Release(); }
    }

    /// <summary>Stops admitting requests, lets those in the engine finish within <paramref name="drain"/>, then stops the actors (ending the rest).</summary>
    public async Task ShutdownAsync(TimeSpan drain)
    {
        _stopping = true;
        var deadline = DateTime.UtcNow + drain;
        while (_slots.CurrentCount < _capacity && DateTime.UtcNow < deadline) await Task.Delay(20).ConfigureAwait(false);
        try { await _core.GracefulStop(TimeSpan.FromSeconds(10)).ConfigureAwait(false); }
        catch (Exception e) when (e is TaskCanceledException or AskTimeoutException) { }
    }

    public ValueTask DisposeAsync() => _stopping ? ValueTask.CompletedTask : new ValueTask(ShutdownAsync(TimeSpan.Zero));
}
