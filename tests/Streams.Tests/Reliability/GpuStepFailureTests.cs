using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;

namespace Pipeline.Streams.Tests.Reliability;

/// <summary>
/// A GPU worker whose every step throws (a deterministic failure such as a kernel error on one input): the requests of
/// those steps must end with an explicit error naming the gpu stage within seconds, not hang until a client timeout;
/// and once the device works again the restarted worker serves normally.
/// </summary>
public class GpuStepFailureTests
{
    [Fact]
    public async Task AStepThatAlwaysThrows_FailsItsRequestsExplicitly_ThenTheWorkerServesAgain()
    {
        var faults = new FaultInjector(1.0, seed: 1, "gpu");
        await using var h = new PipelineHarness(options: new PipelineOptions { Faults = faults });
        var greedy = new SamplingParams { Temperature = 0, IgnoreEos = true, MaxTokens = 4 };

        var runs = Enumerable.Range(0, 3).Select(i => h.Engine.GenerateFinalAsync(PromptInput.FromIds([5 + i, 6, 7, 8]), greedy, $"poison-{i}")).ToList();
        foreach (var run in runs)
        {
            var error = await Assert.ThrowsAsync<PipelineStageException>(() => run.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.Equal("gpu", error.Stage);
            Assert.Contains("injected fault in the gpu stage", error.Message);
        }

        faults.Enabled = false;
        var ok = await h.Engine.GenerateFinalAsync(PromptInput.FromIds([5, 6, 7, 8]), greedy).WaitAsync(TimeSpan.FromSeconds(20));
        Assert.Equal(4, ok.Outputs[0].TokenIds.Count);
        var stats = await h.Engine.GetStatsAsync();
        Assert.Equal(0, stats.Sum(s => s.Scheduler.NumRunningReqs + s.Scheduler.NumWaitingReqs));
        Assert.Equal(0, stats.Sum(s => s.Scheduler.KvCacheUsage));
    }
}
