namespace Pipeline.Actors.Engine;

/// <summary>
/// What the engine core loop may assume about its executor, which decides what a failed step costs.
/// </summary>
public sealed record EngineCorePolicy
{
    /// <summary>
    /// Generation: the model runner keeps each request's tokens and KV cache between steps. Plans that only carry finished
    /// or preempted ids still go to it (so it drops their state), and a failed step loses that state: every step in flight
    /// is dropped and every running request is recomputed.
    /// </summary>
    public static readonly EngineCorePolicy Generation = new() { ExecutorKeepsState = true };

    /// <summary>
    /// Pooling: every request is new and complete in its step, and the executor keeps nothing between steps. Plans that
    /// carry no work are folded back without the device, and a failed step fails only its own requests (a deterministic
    /// failure such as running out of memory would only repeat); other steps in flight stand.
    /// </summary>
    public static readonly EngineCorePolicy Pooling = new() { ExecutorKeepsState = false };

    public bool ExecutorKeepsState { get; private init; }

    /// <summary>
    /// Generation: a request in this many failed steps in a row, with no completed step between them, ends with
    /// <see cref="FinishReason.Error"/> instead of being recomputed again. A transient fault costs a recompute; a failure
    /// that repeats on the same input (a kernel error, an input the model cannot run) fails the request explicitly instead
    /// of looping until the client gives up. Pooling fails at the first failure.
    /// </summary>
    public int MaxConsecutiveStepFailures { get; init; } = 3;
}
