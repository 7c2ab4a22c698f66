namespace Pipeline.Actors.Engine;

/// <summary>
/// What folding one step back produced (vLLM's EngineCoreOutputs): an output per request that got tokens or finished.
/// <see cref="Ignored"/> when the step was no longer in flight (dropped by an earlier failure, or already folded back).
/// </summary>
public sealed record EngineCoreOutputs(long StepId, IReadOnlyList<EngineCoreOutput> Outputs, bool Ignored = false)
{
    public static EngineCoreOutputs Stale(long stepId) => new(stepId, Array.Empty<EngineCoreOutput>(), Ignored: true);
}
