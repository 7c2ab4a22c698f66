using System.Globalization;
using Pipeline.Actors.Stages;

namespace Pipeline.Host.Cli;

/// <summary>
/// --inject-faults (for soak and recovery tests, never in production): <c>p=0.01;stages=gpu,tokenizer,detokenizer;seed=7;hang-step=40;hang-seconds=30</c>.
/// p: probability that a stage call throws; stages: which stages (default all); hang-step: the GPU step (counted from 1)
/// that blocks for hang-seconds (default 3600), as a hung device call does.
/// </summary>
public static class FaultSpec
{
    public static FaultInjector? Parse(string? spec)
    {
        if (string.IsNullOrWhiteSpace(spec)) return null;
        double p = 0;
        int seed = 0;
        int? hangStep = null;
        double hangSeconds = 3600;
        string[] stages = [];
        foreach (var part in spec.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            var kv = part.Split('=', 2, StringSplitOptions.TrimEntries);
            if (kv.Length != 2) throw new CliException($"--inject-faults: '{part}' is not key=value");
            string v = kv[1];
            switch (kv[0])
            {
                case "p": p = Number(v, kv[0], 0, 1); break;
                case "seed": seed = (int)Number(v, kv[0], int.MinValue, int.MaxValue); break;
                case "stages": stages = v.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries); break;
                case "hang-step": hangStep = (int)Number(v, kv[0], 1, int.MaxValue); break;
                case "hang-seconds": hangSeconds = Number(v, kv[0], 0, 1e6); break;
                default: throw new CliException($"--inject-faults: unknown key '{kv[0]}' (p, seed, stages, hang-step, hang-seconds)");
            }
        }
        var faults = new FaultInjector(p, seed, stages);
        if (hangStep is int n) faults.ScheduleHang("gpu", n - 1, TimeSpan.FromSeconds(hangSeconds));
        return faults;
    }

    static double Number(string v, string key, double min, double max) =>
        double.TryParse(v, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) && d >= min && d <= max
            ? d : throw new CliException($"--inject-faults: {key} must be a number in [{min}, {max}], got '{v}'");
}
