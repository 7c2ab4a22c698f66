using System.Diagnostics;
using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Actors.Engine;

/// <summary>
/// Micro benchmark of the scheduler's per-step overhead (for docs/benchmarks.md): N running decode sequences,
/// mean microseconds of Schedule() + UpdateFromOutput() per step. The runner's work is not timed.
/// </summary>
public static class SchedulerBenchmark
{
    public static double Run(int numRunning, int steps, int warmupSteps = 100, bool enablePrefixCaching = true)
    {
        const int promptLen = 32, blockSize = 16;
        int maxModelLen = promptLen + warmupSteps + steps + 2 * blockSize;
        int blocksPerSeq = (maxModelLen + blockSize - 1) / blockSize;
        var s = new Scheduler(new SchedulerConfig
        {
            MaxNumSeqs = numRunning,
            MaxNumBatchedTokens = Math.Max(numRunning * promptLen, maxModelLen),
            MaxModelLen = maxModelLen,
            BlockSize = blockSize,
            NumGpuBlocks = numRunning * blocksPerSeq + 1,
            EnablePrefixCaching = enablePrefixCaching,
        });
        var sp = new SamplingParams { MaxTokens = null, IgnoreEos = true };
        for (int i = 0; i < numRunning; i++)
            s.AddRequest(new Request($"bench-{i}", Enumerable.Range(i * promptLen, promptLen).ToArray(), sp, [0], arrivalTime: i));

        for (int i = 0; i < 1 + warmupSteps; i++)
        {
            var so = s.Schedule();
            s.UpdateFromOutput(so, Fake(so, i));
        }
        if (s.NumRunning != numRunning) throw new InvalidOperationException("warm-up did not start every sequence");

        long ticks = 0;
        LastScheduleTicks = LastUpdateTicks = 0;
        for (int i = 0; i < steps; i++)
        {
            long t0 = Stopwatch.GetTimestamp();
            var so = s.Schedule();
            long t1 = Stopwatch.GetTimestamp();
            var ro = Fake(so, i);
            long t2 = Stopwatch.GetTimestamp();
            s.UpdateFromOutput(so, ro);
            long t3 = Stopwatch.GetTimestamp();
            ticks += (t1 - t0) + (t3 - t2);
            LastScheduleTicks += t1 - t0;
            LastUpdateTicks += t3 - t2;
            if (so.NumScheduledTokens.Count != numRunning) throw new InvalidOperationException("a sequence stopped decoding");
        }
        return ticks * 1e6 / Stopwatch.Frequency / steps;
    }

    /// <summary>Split of the last run's time: ticks in Schedule() and in UpdateFromOutput().</summary>
    public static long LastScheduleTicks { get; private set; }
    public static long LastUpdateTicks { get; private set; }

    static ModelRunnerOutput Fake(SchedulerOutput so, int step)
    {
        var o = new ModelRunnerOutput();
        int[] token = [1 + step % 1000];
        foreach (var id in so.NumScheduledTokens.Keys)
        {
            o.ReqIds.Add(id);
            o.SampledTokenIds.Add(token);
            o.Logprobs.Add(null);
            o.PromptLogprobs.Add(null);
        }
        return o;
    }
}
