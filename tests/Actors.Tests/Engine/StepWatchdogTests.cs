using Pipeline.Actors.Engine;
using Pipeline.Models.Runner;

namespace Pipeline.Actors.Tests.Engine;

/// <summary>The watchdog's clock and deadlines, driven by hand with a fake clock.</summary>
public class StepWatchdogTests
{
    static readonly DateTime T0 = new(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc);
    static readonly StepWatchdogConfig Config = new() { StepTimeout = TimeSpan.FromSeconds(10), FirstShapeTimeout = TimeSpan.FromSeconds(100) };

    static SchedulerOutput Decode(int seqs)
    {
        var plan = new SchedulerOutput();
        for (int i = 0; i < seqs; i++) plan.NumScheduledTokens[$"r{i}"] = 1;
        plan.TotalNumScheduledTokens = seqs;
        return plan;
    }

    [Fact]
    public void TheFirstStepOfAShapeGetsTheLongerDeadline_LaterOnesTheShortOne()
    {
        var w = new StepWatchdog(Config);
        w.Sent(1, Decode(3), T0);
        Assert.Null(w.Overdue(T0.AddSeconds(50)));
        var first = w.Overdue(T0.AddSeconds(101))!;
        Assert.Equal((1L, true), (first.StepId, first.FirstOfShape));
        w.Finished(1, T0.AddSeconds(60));

        w.Sent(2, Decode(4), T0.AddSeconds(60)); // 4 rounds up to the same bucket as 3
        Assert.Null(w.Overdue(T0.AddSeconds(69)));
        var late = w.Overdue(T0.AddSeconds(71))!;
        Assert.Equal((2L, false), (late.StepId, late.FirstOfShape));
        Assert.Contains("replica 0: device step 2 made no progress for 11.0 s (deadline 10 s)", late.Describe(0));

        w.Finished(2, T0.AddSeconds(72));
        w.Sent(3, Decode(5), T0.AddSeconds(72)); // a new bucket
        Assert.Null(w.Overdue(T0.AddSeconds(100)));
    }

    [Fact]
    public void TheSecondStepInFlight_StartsItsClockWhenTheFirstFinishes()
    {
        var w = new StepWatchdog(Config);
        w.Sent(1, Decode(1), T0);
        w.Finished(1, T0.AddSeconds(1));
        w.Sent(2, Decode(1), T0.AddSeconds(1));
        w.Sent(3, Decode(1), T0.AddSeconds(1));
        w.Finished(2, T0.AddSeconds(9));
        Assert.Null(w.Overdue(T0.AddSeconds(18)));
        Assert.Equal(3, w.Overdue(T0.AddSeconds(20))!.StepId);
    }

    [Fact]
    public void AfterAResetEveryShapeIsNewAgain_AndOffMeansNeverOverdue()
    {
        var w = new StepWatchdog(Config);
        w.Sent(1, Decode(1), T0);
        w.Finished(1, T0);
        w.Reset();
        w.Sent(2, Decode(1), T0);
        Assert.Null(w.Overdue(T0.AddSeconds(50)));
        Assert.True(w.Overdue(T0.AddSeconds(101))!.FirstOfShape);

        var off = new StepWatchdog(StepWatchdogConfig.Off);
        off.Sent(1, Decode(1), T0);
        Assert.Null(off.Overdue(T0.AddDays(1)));
    }
}
