using System.Text.Json;
using Pipeline.Streams.Queue;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Queue;

/// <summary>SIGTERM while queue requests run: finished ones stay acknowledged, the rest are requeued and the next server runs each once.</summary>
[Collection("broker")]
public class QueueShutdownTests(ITestOutputHelper output)
{
    [Fact]
    public async Task GracefulShutdownAcknowledgesWhatFinishedAndRequeuesTheRestForTheNextServer()
    {
        Broker.EnsureRunning();
        const int n = 60, maxTokens = 100;
        var topology = Broker.UniqueTopology("shutdown", prefetch: 8);
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        var first = new SharedQueueServer(topology, deleteQueuesOnDispose: false);
        var second = new SharedQueueServer(topology, deleteQueuesOnDispose: true);
        try
        {
            await first.InitializeAsync();
            await using var client = first.Client("shutdown");
            var log = new EventLog();
            await using var sub = await client.SubscribeAsync("#", cts.Token);
            var pump = log.Pump(sub, cts.Token);
            for (int i = 0; i < n; i++)
                await client.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new { request_id = $"sd-{i}", prompt = new[] { 1, 2, 3 + i }, max_tokens = maxTokens, temperature = 0, ignore_eos = true }), new QueueProperties(), cts.Token);
            await log.WaitFor(10, TimeSpan.FromMinutes(1));
            Assert.Equal(0, await first.TerminateAsync(TimeSpan.FromSeconds(60)));
            int finishedByFirst = log.Finished;
            output.WriteLine($"the first server finished {finishedByFirst} of {n} before exiting");
            Assert.True(finishedByFirst < n, "the shutdown should have come while requests were waiting");

            await second.InitializeAsync();
            await log.WaitFor(n, TimeSpan.FromMinutes(2));
            Assert.Equal(n - finishedByFirst, await second.Counter("requests_executed"));
            Assert.Equal(n, log.RawTerminal);
            for (int i = 0; i < n; i++) Assert.Equal(maxTokens, EventLog.FinalTokens(log.Deduped($"sd-{i}").Last()).Length);
            cts.Cancel();
        }
        finally
        {
            await first.DisposeAsync();
            await second.DisposeAsync();
        }
    }
}
