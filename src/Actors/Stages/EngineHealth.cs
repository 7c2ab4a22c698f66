using System.Collections.Concurrent;

namespace Pipeline.Actors.Stages;

/// <summary>
/// The engine's health as /health and /metrics report it, written by the engine-core actors (any thread may read):
/// a replica whose device step hung is unhealthy, with the reason, until its fresh worker is ready. Counts watchdog
/// timeouts and worker restarts. <see cref="ExitRequested"/> is raised when the configured action is to exit.
/// </summary>
public sealed class EngineHealth
{
    readonly ConcurrentDictionary<int, string> _problems = new();
    long _stepTimeouts, _workerRestarts;

    public bool IsHealthy => _problems.IsEmpty;
    /// <summary>Why the engine is unhealthy, one line per replica; empty when healthy.</summary>
    public IReadOnlyList<string> Reasons => _problems.OrderBy(p => p.Key).Select(p => p.Value).ToList();
    public long StepTimeouts => Interlocked.Read(ref _stepTimeouts);
    public long WorkerRestarts => Interlocked.Read(ref _workerRestarts);

    /// <summary>The process should exit non-zero (a hung step with <c>StepTimeoutAction.Exit</c>); the host subscribes.</summary>
    public event Action<string>? ExitRequested;

    public void StepTimedOut(int replica, string reason)
    {
        Interlocked.Increment(ref _stepTimeouts);
        _problems[replica] = reason;
    }

    public void WorkerRestarted() => Interlocked.Increment(ref _workerRestarts);

    public void Recovered(int replica) => _problems.TryRemove(replica, out _);

    public void RequestExit(string reason)
    {
        if (ExitRequested is { } handler) handler(reason);
        else Environment.Exit(70); // EX_SOFTWARE: nobody to hand this to
    }
}
