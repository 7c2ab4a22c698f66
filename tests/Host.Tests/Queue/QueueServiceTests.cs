using System.Text;
using Pipeline.Actors.Engine;
using Pipeline.Models.Sampling;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>The queue service's logic over the in-process transport (no broker): outputs, redelivery, duplicates, poison.</summary>
public class QueueServiceTests
{
    static List<(string Id, int[] Prompt, int Max)> Jobs(string prefix, int n, int seed, int minTokens, int maxTokens)
    {
        var rnd = new Random(seed);
        return Enumerable.Range(0, n).Select(i => ($"{prefix}-{i}", Enumerable.Range(0, rnd.Next(2, 12)).Select(_ => rnd.Next(3, 500)).ToArray(), rnd.Next(minTokens, maxTokens + 1))).ToList();
    }

    [Fact]
    public async Task InProcessQueueAnswersEachRequestWithTheEnginesGreedyOutput()
    {
        await using var h = new InProcessQueueHarness();
        var log = new EventLog();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var pump = log.Pump(await h.Transport.SubscribeAsync("#", cts.Token), cts.Token);
        var jobs = Jobs("inproc", 60, 3, 1, 8);
        foreach (var j in jobs) await h.Publish(j.Id, j.Prompt, j.Max);
        await log.WaitFor(jobs.Count, TimeSpan.FromMinutes(1));
        foreach (var j in jobs)
        {
            var expected = await h.Engine.GenerateFinalAsync(PromptInput.FromIds(j.Prompt), new SamplingParams { Temperature = 0, IgnoreEos = true, MaxTokens = j.Max });
            Assert.Equal(expected.Outputs[0].TokenIds, EventLog.FinalTokens(EventLog.CheckStream(log.Of(j.Id))));
            Assert.Equal(1, h.Executions[j.Id]);
        }
        await h.Drained(TimeSpan.FromSeconds(10));
        cts.Cancel();
    }

    [Fact]
    public async Task RequestsRedeliveredAfterAConnectionLossJoinTheRunningOnesAndRunOnce()
    {
        await using var h = new InProcessQueueHarness(prefetch: 6);
        var log = new EventLog();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var pump = log.Pump(await h.Transport.SubscribeAsync("#", cts.Token), cts.Token);
        var jobs = Jobs("lossy", 40, 5, 30, 60);
        foreach (var j in jobs) await h.Publish(j.Id, j.Prompt, j.Max);
        for (int loss = 1; loss <= 3; loss++)
        {
            await log.WaitFor(loss * 8, TimeSpan.FromMinutes(1));
            h.Transport.SimulateConnectionLoss();
        }
        await log.WaitFor(jobs.Count, TimeSpan.FromMinutes(1));
        await h.Drained(TimeSpan.FromSeconds(10));
        foreach (var j in jobs)
        {
            Assert.Equal(1, h.Executions[j.Id]);
            Assert.Equal(j.Max, EventLog.FinalTokens(EventLog.CheckStream(log.Of(j.Id))).Length);
        }
        Assert.Equal(jobs.Count, h.Service.Completed);
        Assert.True(h.Service.JoinedRunning > 0, "the losses should have redelivered requests that were still running");
        cts.Cancel();
    }

    [Fact]
    public async Task AFinishedRequestIdPublishedAgainIsAcknowledgedWithoutRunning()
    {
        await using var h = new InProcessQueueHarness();
        var log = new EventLog();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var pump = log.Pump(await h.Transport.SubscribeAsync("#", cts.Token), cts.Token);
        await h.Publish("twice", [1, 2, 3], 4);
        await log.WaitFor(1, TimeSpan.FromSeconds(30));
        await h.Publish("twice", [1, 2, 3], 4);
        await h.Drained(TimeSpan.FromSeconds(10));
        await h.Publish("after", [4, 5], 2);
        await log.WaitFor(2, TimeSpan.FromSeconds(30));
        Assert.Equal(1, h.Executions["twice"]);
        Assert.Equal(1, h.Service.DuplicatesSkipped);
        Assert.Single(log.Of("twice"), e => e.IsTerminal);
        cts.Cancel();
    }

    [Fact]
    public async Task PoisonMessagesGoToTheInProcessDeadLetterQueue()
    {
        await using var h = new InProcessQueueHarness();
        await h.Transport.PublishRequestAsync(Encoding.UTF8.GetBytes("{oops"), QueueProperties.Default, default);
        await h.Transport.PublishRequestAsync(Encoding.UTF8.GetBytes("""{"request_id":"neg","prompt":[1],"temperature":-1}"""), QueueProperties.Default, default);
        await h.Publish("fine", [1, 2], 2);
        await h.Drained(TimeSpan.FromSeconds(30));
        var reasons = new List<string>();
        while (await h.Transport.GetAsync(h.Transport.Topology.DeadLetterQueue, default) is { } m) reasons.Add(m.Properties.Headers![QueueHeaders.Error]);
        // Messages are handled concurrently, so the two dead letters may arrive in either order.
        Assert.Equal(2, reasons.Count);
        Assert.Single(reasons, r => r.StartsWith("invalid JSON"));
        Assert.Single(reasons, r => r.Contains("temperature") && !r.StartsWith("invalid JSON"));
        Assert.Equal(1, h.Executions["fine"]);
    }

    [Fact]
    public async Task WithStrictFieldsAMessageWithAnUnknownFieldIsDeadLetteredNamingIt()
    {
        await using var h = new InProcessQueueHarness(strictRequestFields: true);
        await h.Transport.PublishRequestAsync(Encoding.UTF8.GetBytes("""{"request_id":"typo","prompt":[1],"temprature":0}"""), QueueProperties.Default, default);
        await h.Transport.PublishRequestAsync(Encoding.UTF8.GetBytes("""{"request_id":"envelope","prompt":[1,2],"max_tokens":2,"reply_to":"r","correlation_id":"c"}"""), QueueProperties.Default, default);
        await h.Drained(TimeSpan.FromSeconds(30));
        var reasons = new List<string>();
        while (await h.Transport.GetAsync(h.Transport.Topology.DeadLetterQueue, default) is { } m) reasons.Add(m.Properties.Headers![QueueHeaders.Error]);
        var reason = Assert.Single(reasons);
        Assert.Contains("temprature", reason);
        Assert.Equal(1, h.Executions["envelope"]);
        Assert.False(h.Executions.ContainsKey("typo"));
    }
}
