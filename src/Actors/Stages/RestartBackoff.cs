using System.Collections.Concurrent;
using Akka.Actor;

namespace Pipeline.Actors.Stages;

/// <summary>How long a restarted stage actor pauses before it takes messages again, after crashes in a row.</summary>
/// <param name="MinBackoff">The pause after the second crash in a row (the first restarts at once).</param>
/// <param name="MaxBackoff">The pause doubles up to this; zero turns the backoff off (every restart is immediate).</param>
/// <param name="RandomFactor">Up to this fraction is added at random, so routees that crashed together do not all wake together.</param>
public sealed record StageBackoffOptions(TimeSpan MinBackoff, TimeSpan MaxBackoff, double RandomFactor = 0.2)
{
    /// <summary>100 ms doubling to 5 s, as the GPU worker's engine core does.</summary>
    public static readonly StageBackoffOptions Default = new(TimeSpan.FromMilliseconds(100), TimeSpan.FromSeconds(5));
    public static readonly StageBackoffOptions Off = new(TimeSpan.Zero, TimeSpan.Zero, 0);
}

/// <summary>
/// The crashes in a row of one stage actor, across its restarts, and the pause its next incarnation takes: none after
/// the first crash (a one-off fault costs nothing), then an exponential backoff computed as Akka's BackoffSupervisor
/// computes it (whose own is internal): <see cref="StageBackoffOptions.MinBackoff"/> doubling to
/// <see cref="StageBackoffOptions.MaxBackoff"/>, plus up to <see cref="StageBackoffOptions.RandomFactor"/> at random.
/// A message handled without a crash ends the run of crashes.
/// </summary>
public sealed class RestartBackoff(StageBackoffOptions options)
{
    int _crashesInARow;
    long _restarts;

    public int CrashesInARow => Volatile.Read(ref _crashesInARow);
    public long Restarts => Interlocked.Read(ref _restarts);

    /// <summary>Counts a crash and returns the pause before the restarted actor takes messages.</summary>
    public TimeSpan OnCrash()
    {
        Interlocked.Increment(ref _restarts);
        int n = Interlocked.Increment(ref _crashesInARow);
        if (n < 2 || options.MaxBackoff <= TimeSpan.Zero) return TimeSpan.Zero;
        double ms = Math.Min(options.MaxBackoff.TotalMilliseconds, options.MinBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(n - 2, 30)));
        return TimeSpan.FromMilliseconds(ms * (1 + Random.Shared.NextDouble() * options.RandomFactor));
    }

    public void OnHandled()
    {
        if (Volatile.Read(ref _crashesInARow) != 0) Volatile.Write(ref _crashesInARow, 0);
    }
}

/// <summary>
/// The restart backoffs of one stage's actors, kept outside them so they survive restarts: one per actor path, so the
/// routees of a pool back off independently. Created by whoever builds the stage.
/// </summary>
public sealed class StageRestarts(string stage, StageBackoffOptions? options = null)
{
    readonly ConcurrentDictionary<string, RestartBackoff> _byActor = new();

    public string Stage { get; } = stage;
    public StageBackoffOptions Options { get; } = options ?? StageBackoffOptions.Default;
    /// <summary>Restarts of all this stage's actors.</summary>
    public long Restarts => _byActor.Values.Sum(b => b.Restarts);
    /// <summary>Each restart: the actor's path and the pause it takes (for logs and tests).</summary>
    public event Action<string, TimeSpan>? Restarted;

    public RestartBackoff For(IActorRef actor) => _byActor.GetOrAdd(actor.Path.ToStringWithoutAddress(), _ => new RestartBackoff(Options));

    internal void OnRestarted(IActorRef actor, TimeSpan pause) => Restarted?.Invoke(actor.Path.ToStringWithoutAddress(), pause);
}
