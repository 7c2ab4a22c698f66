namespace Pipeline.Actors.Stages;

/// <summary>
/// Makes stages throw at random (off unless a probability is given), so tests can prove that a crashing stage
/// is restarted and every request still ends with its output or an explicit error. It also hangs a stage on
/// request (<see cref="ScheduleHang"/>): the calling thread blocks as a thread stuck in a device call does, which
/// the step watchdog must notice.
/// </summary>
public sealed class FaultInjector(double probability = 0, int seed = 0, params string[] stages)
{
    readonly Random _random = new(seed);
    readonly HashSet<string> _stages = new(stages);
    readonly Dictionary<string, long> _calls = new();
    readonly List<(string Stage, long AtCall, TimeSpan Duration)> _hangs = new();
    readonly CancellationTokenSource _release = new();
    long _hung;
    public long Injected { get; private set; }
    /// <summary>Hangs that started.</summary>
    public long Hung => Interlocked.Read(ref _hung);
    /// <summary>Switches injection off (or back on) while the pipeline runs.</summary>
    public bool Enabled { get; set; } = true;

    public static readonly FaultInjector None = new();

    public void MaybeThrow(string stage)
    {
        if (!Enabled || probability <= 0 || (_stages.Count > 0 && !_stages.Contains(stage))) return;
        bool fire;
        lock (_random) fire = _random.NextDouble() < probability;
        if (!fire) return;
        lock (_random) Injected++;
        throw new InjectedFaultException(stage);
    }

    /// <summary>The call of <see cref="MaybeHang"/> for <paramref name="stage"/> after the next <paramref name="skipCalls"/> blocks for <paramref name="duration"/> (or until <see cref="ReleaseHangs"/>).</summary>
    public void ScheduleHang(string stage, int skipCalls, TimeSpan duration)
    {
        if (ReferenceEquals(this, None)) throw new InvalidOperationException("FaultInjector.None is shared: create an injector to schedule hangs");
        lock (_hangs) _hangs.Add((stage, _calls.GetValueOrDefault(stage) + skipCalls + 1, duration));
    }

    public void MaybeHang(string stage)
    {
        TimeSpan? hang = null;
        lock (_hangs)
        {
            if (_hangs.Count == 0) return;
            long call = _calls[stage] = _calls.GetValueOrDefault(stage) + 1;
            int i = _hangs.FindIndex(h => h.Stage == stage && h.AtCall == call);
            if (i >= 0 && Enabled) { hang = _hangs[i].Duration; _hangs.RemoveAt(i); }
        }
        if (hang == null) return;
        Interlocked.Increment(ref _hung);
        _release.Token.WaitHandle.WaitOne(hang.Value);
    }

    /// <summary>Ends every hang now and any later one at once (a test's cleanup).</summary>
    public void ReleaseHangs() => _release.Cancel();
}

public sealed class InjectedFaultException(string stage) : Exception($"injected fault in the {stage} stage");
