namespace Pipeline.Streams.Queue;

/// <summary>Exponential reconnect delays with jitter: initial, x2 per failure, capped; reset after a success.</summary>
public sealed class Backoff(TimeSpan initial, TimeSpan max)
{
    int _failures;

    public TimeSpan Next()
    {
        double ms = Math.Min(max.TotalMilliseconds, initial.TotalMilliseconds * Math.Pow(2, Math.Min(_failures++, 20)));
        return TimeSpan.FromMilliseconds(ms * (0.75 + Random.Shared.NextDouble() * 0.5));
    }

    public void Reset() => _failures = 0;
}
