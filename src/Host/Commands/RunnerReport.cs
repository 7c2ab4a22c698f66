using Pipeline.Models.Forward;
using Pipeline.Models.Runner;

namespace Pipeline.Host.Commands;

/// <summary>The bench commands' last lines: which attention backend ran, CUDA graphs, and the per-step time breakdown.</summary>
static class RunnerReport
{
    public static void Print(ModelRunner runner)
    {
        var g = runner.Graphs;
        Console.WriteLine($"  attention backend: {runner.Backend.Name}; CUDA graphs: " + (g == null ? "off" :
            $"{g.Sizes.Count} batch sizes up to {g.Sizes[^1]}, contexts up to {g.MaxContext}, captured in {g.CaptureTime.TotalSeconds:F1} s, {g.Replays} replays"));
        Console.WriteLine($"  runner: {runner.Timings}");
    }
}
