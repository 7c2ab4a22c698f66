using System.Diagnostics;
using Pipeline.Actors.Engine;
using Xunit.Abstractions;

namespace Pipeline.Actors.Tests.Engine;

public class SchedulerBenchmarkTests(ITestOutputHelper output)
{
    [Fact]
    public void Runs_AndReportsMeanStepTime()
    {
        foreach (int n in new[] { 256, 1024 })
        {
            double us = SchedulerBenchmark.Run(n, steps: 300);
            Assert.True(us > 0);
            output.WriteLine($"scheduler step with {n} running decodes: {us:F1} us (schedule {SchedulerBenchmark.LastScheduleTicks * 1e6 / Stopwatch.Frequency / 300:F1}, update {SchedulerBenchmark.LastUpdateTicks * 1e6 / Stopwatch.Frequency / 300:F1})");
        }
    }
}
