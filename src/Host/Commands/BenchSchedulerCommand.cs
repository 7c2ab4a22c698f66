using System.Diagnostics;
using Pipeline.Actors.Engine;
using Pipeline.Host.Cli;

namespace Pipeline.Host.Commands;

/// <summary>`pipeline bench-scheduler`: CPU time of the scheduler and KV block manager per step with N running decodes.</summary>
public static class BenchSchedulerCommand
{
    public static readonly CommandSpec Spec = new("bench-scheduler", "Time Schedule() + UpdateFromOutput() per step with N running decode sequences (no model).", [],
    [
        new("num-running", "running sequences; repeat for several runs", Repeats: true, Metavar: "N"),
        new("steps", "timed steps per run", "1000"),
        new("repeats", "runs per size (the median is reported)", "5"),
        new("no-prefix-caching", "turn prefix caching off", IsFlag: true),
    ]);

    public static int Run(ParsedArgs args)
    {
        var sizes = args.GetAll("num-running").Select(int.Parse).DefaultIfEmpty(256).ToList();
        int steps = args.Int("steps"), repeats = args.Int("repeats");
        bool caching = !args.Flag("no-prefix-caching");
        Console.WriteLine($"prefix caching {(caching ? "on" : "off")}, {steps} steps x {repeats} runs, median reported");
        foreach (var n in sizes)
        {
            var runs = new List<(double Total, double Schedule, double Update)>();
            for (int r = 0; r < repeats; r++)
            {
                double us = SchedulerBenchmark.Run(n, steps, enablePrefixCaching: caching);
                runs.Add((us, SchedulerBenchmark.LastScheduleTicks * 1e6 / Stopwatch.Frequency / steps, SchedulerBenchmark.LastUpdateTicks * 1e6 / Stopwatch.Frequency / steps));
            }
            var m = runs.OrderBy(x => x.Total).ElementAt(runs.Count / 2);
            Console.WriteLine($"{n} running: {m.Total:F1} us/step (schedule {m.Schedule:F1}, update {m.Update:F1})");
        }
        return 0;
    }
}
