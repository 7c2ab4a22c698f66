using System.Diagnostics;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;

namespace Pipeline.Streams.Tests.Reliability;

/// <summary>
/// A device step that hangs (the fault injector blocks the GPU worker's thread, as a stuck kernel or driver call does):
/// within the deadline the engine reports unhealthy with the reason, the hung step's request ends with an explicit error,
/// a fresh worker takes over and the engine is healthy and serving again while the old thread is still stuck.
/// </summary>
public class StepWatchdogTests
{
    static readonly SamplingParams Greedy = new() { Temperature = 0, IgnoreEos = true, MaxTokens = 4 };

    [Fact]
    public async Task AHungStep_FailsItsRequest_TurnsUnhealthyWithinTheDeadline_AndRecoversOnAFreshWorker()
    {
        var faults = new FaultInjector();
        var watchdog = new StepWatchdogConfig { StepTimeout = TimeSpan.FromSeconds(2), FirstShapeTimeout = TimeSpan.FromSeconds(60) };
        await using var h = new PipelineHarness(options: new PipelineOptions { Faults = faults, StepWatchdog = watchdog });
        try
        {
            // Warm the shapes up, so the hung step gets the plain deadline.
            var expected = await h.Engine.GenerateFinalAsync(PromptInput.FromIds([5, 6, 7, 8]), Greedy).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.True(h.Engine.Health.IsHealthy);

            faults.ScheduleHang("gpu", skipCalls: 0, TimeSpan.FromMinutes(2));
            var clock = Stopwatch.StartNew();
            var hung = h.Engine.GenerateFinalAsync(PromptInput.FromIds([5, 6, 7, 8]), Greedy, "hung-1");
            var error = await Assert.ThrowsAsync<PipelineStageException>(() => hung.WaitAsync(TimeSpan.FromSeconds(20)));
            var failedAfter = clock.Elapsed;
            Assert.Equal("gpu", error.Stage);
            Assert.Contains("made no progress", error.Message);
            Assert.Equal(1, faults.Hung);
            // The deadline plus one watchdog tick (400 ms), with room for a loaded machine.
            Assert.True(failedAfter < TimeSpan.FromSeconds(8), $"failed after {failedAfter}");
            Assert.Equal(1, h.Engine.Health.StepTimeouts);

            // Unhealthy until the fresh worker has built its runner; then healthy, and it serves the same output.
            await WaitFor(() => h.Engine.Health.IsHealthy, TimeSpan.FromSeconds(20));
            Assert.Equal(1, h.Engine.Health.WorkerRestarts);
            var after = await h.Engine.GenerateFinalAsync(PromptInput.FromIds([5, 6, 7, 8]), Greedy).WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Equal(expected.Outputs[0].TokenIds, after.Outputs[0].TokenIds);
            var stats = await h.Engine.GetStatsAsync();
            Assert.Equal(0, stats.Sum(s => s.Scheduler.NumRunningReqs + s.Scheduler.NumWaitingReqs));
            Assert.Equal(0, stats.Sum(s => s.Scheduler.KvCacheUsage));
        }
        finally { faults.ReleaseHangs(); }
    }

    [Fact]
    public async Task WithTheExitAction_AHungStepAsksTheHostToExit_WithTheReason()
    {
        var faults = new FaultInjector();
        var watchdog = new StepWatchdogConfig { StepTimeout = TimeSpan.FromMilliseconds(500), FirstShapeTimeout = TimeSpan.FromSeconds(1), Action = StepTimeoutAction.Exit };
        await using var h = new PipelineHarness(options: new PipelineOptions { Faults = faults, StepWatchdog = watchdog });
        var exit = new TaskCompletionSource<string>();
        h.Engine.Health.ExitRequested += reason => exit.TrySetResult(reason);
        try
        {
            faults.ScheduleHang("gpu", skipCalls: 0, TimeSpan.FromMinutes(2));
            var hung = h.Engine.GenerateFinalAsync(PromptInput.FromIds([5, 6, 7, 8]), Greedy, "hung-2");
            var reason = await exit.Task.WaitAsync(TimeSpan.FromSeconds(20));
            Assert.Contains("replica 0: device step 1 made no progress", reason);
            Assert.Contains("first step of its shape", reason);
            await Assert.ThrowsAsync<PipelineStageException>(() => hung.WaitAsync(TimeSpan.FromSeconds(20)));
            Assert.False(h.Engine.Health.IsHealthy);
            Assert.Equal(reason, Assert.Single(h.Engine.Health.Reasons));
        }
        finally { faults.ReleaseHangs(); }
    }

    static async Task WaitFor(Func<bool> condition, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (!condition())
        {
            if (DateTime.UtcNow > deadline) throw new TimeoutException("condition not met in time");
            await Task.Delay(20);
        }
    }
}
