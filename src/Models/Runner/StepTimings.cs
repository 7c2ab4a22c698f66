using System.Diagnostics;

namespace Pipeline.Models.Runner;

/// <summary>
/// Where a runner's step time goes, summed over steps: host-side input preparation, forward (launching the work,
/// or replaying a graph), and sampling (which waits for the GPU when the ids are copied back).
/// </summary>
public sealed class StepTimings
{
    public long Steps { get; private set; }
    public long GraphSteps { get; private set; }
    public TimeSpan Prepare { get; private set; }
    public TimeSpan Forward { get; private set; }
    public TimeSpan Sample { get; private set; }

    public void Record(long start, long prepared, long forwarded, long sampled, bool graph)
    {
        Steps++;
        if (graph) GraphSteps++;
        Prepare += Stopwatch.GetElapsedTime(start, prepared);
        Forward += Stopwatch.GetElapsedTime(prepared, forwarded);
        Sample += Stopwatch.GetElapsedTime(forwarded, sampled);
    }

    public override string ToString() => Steps == 0 ? "no steps" :
        $"{Steps} steps ({GraphSteps} from CUDA graphs); per step: prepare {Prepare.TotalMilliseconds / Steps:F2} ms, " +
        $"forward {Forward.TotalMilliseconds / Steps:F2} ms, sample+wait {Sample.TotalMilliseconds / Steps:F2} ms";
}
