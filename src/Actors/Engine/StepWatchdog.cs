using Pipeline.Models.Runner;

namespace Pipeline.Actors.Engine;

/// <summary>How long a device step may run before the engine core gives up on it, and what it does then.</summary>
public sealed record StepWatchdogConfig
{
    /// <summary>Deadline of a step whose shape the worker has run before; zero or less turns the watchdog off.</summary>
    public TimeSpan StepTimeout { get; init; } = TimeSpan.FromSeconds(60);
    /// <summary>Deadline of the first step of a shape on a (new) worker: kernel selection, compilation, CUDA-graph capture.</summary>
    public TimeSpan FirstShapeTimeout { get; init; } = TimeSpan.FromSeconds(600);
    public StepTimeoutAction Action { get; init; } = StepTimeoutAction.Restart;

    public bool Enabled => StepTimeout > TimeSpan.Zero;
    public static readonly StepWatchdogConfig Off = new() { StepTimeout = TimeSpan.Zero };
}

public enum StepTimeoutAction
{
    /// <summary>Fail the hung step's requests, abandon the worker and start a fresh one (a new thread, a new runner).</summary>
    Restart,
    /// <summary>Fail the hung step's requests and exit the process non-zero, for a supervisor (systemd, Kubernetes) to restart.</summary>
    Exit,
}

/// <summary>
/// Tracks the steps sent to one device and finds one that made no progress within its deadline. The device runs steps in
/// the order they were sent, so only the oldest step is running: its clock starts when it is sent to an idle device or
/// when the step before it finishes. A step whose shape (decode-only or not, tokens and sequences rounded up to powers of
/// two) the worker has not run yet gets <see cref="StepWatchdogConfig.FirstShapeTimeout"/>. Not thread-safe: owned by the
/// engine-core actor.
/// </summary>
public sealed class StepWatchdog(StepWatchdogConfig config)
{
    readonly Queue<(long StepId, StepShape Shape)> _sent = new();
    readonly HashSet<StepShape> _seen = new();
    DateTime _oldestStarted;

    public StepWatchdogConfig Config { get; } = config;
    public int NumInFlight => _sent.Count;

    public void Sent(long stepId, SchedulerOutput plan, DateTime now)
    {
        if (_sent.Count == 0) _oldestStarted = now;
        _sent.Enqueue((stepId, StepShape.Of(plan)));
    }

    /// <summary>The device reported <paramref name="stepId"/> (done or failed); steps sent before it are gone too.</summary>
    public void Finished(long stepId, DateTime now)
    {
        bool any = false;
        while (_sent.Count > 0 && _sent.Peek().StepId <= stepId)
        {
            _seen.Add(_sent.Dequeue().Shape);
            any = true;
        }
        if (any) _oldestStarted = now;
    }

    /// <summary>A new worker: nothing in flight, and every shape is new to it.</summary>
    public void Reset()
    {
        _sent.Clear();
        _seen.Clear();
    }

    /// <summary>The oldest step when it has run past its deadline, else null.</summary>
    public OverdueStep? Overdue(DateTime now)
    {
        if (!Config.Enabled || _sent.Count == 0) return null;
        var (id, shape) = _sent.Peek();
        bool first = !_seen.Contains(shape);
        var deadline = first ? Config.FirstShapeTimeout : Config.StepTimeout;
        var elapsed = now - _oldestStarted;
        return elapsed > deadline ? new OverdueStep(id, elapsed, deadline, first) : null;
    }
}

public sealed record OverdueStep(long StepId, TimeSpan Elapsed, TimeSpan Deadline, bool FirstOfShape)
{
    public string Describe(int replica) =>
        $"replica {replica}: device step {StepId} made no progress for {Elapsed.TotalSeconds:F1} s (deadline {Deadline.TotalSeconds:0.###} s{(FirstOfShape ? ", first step of its shape" : "")})";
}

/// <summary>A step's shape as far as the device's warm-up cares (kernels, compiled graphs): decode-only or not, and the token and sequence counts rounded up to powers of two.</summary>
public readonly record struct StepShape(bool DecodeOnly, int TokenBucket, int SeqBucket)
{
    public static StepShape Of(SchedulerOutput plan)
    {
        int seqs = plan.NumScheduledTokens.Count;
        return new(seqs > 0 && plan.TotalNumScheduledTokens == seqs && plan.ScheduledNewReqs.Count == 0,
            (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, plan.TotalNumScheduledTokens)),
            (int)System.Numerics.BitOperations.RoundUpToPowerOf2((uint)Math.Max(1, seqs)));
    }
}
