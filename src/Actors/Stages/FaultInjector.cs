namespace Pipeline.Actors.Stages;

/// <summary>
/// Makes stages throw at random (off unless a probability is given), so tests can prove that a crashing stage
/// is restarted and every request still ends with its output or an explicit error.
/// </summary>
public sealed class FaultInjector(double probability = 0, int seed = 0, params string[] stages)
{
    readonly Random _random = new(seed);
    readonly HashSet<string> _stages = new(stages);
    public long Injected { get; private set; }
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
}

public sealed class InjectedFaultException(string stage) : Exception($"injected fault in the {stage} stage");
