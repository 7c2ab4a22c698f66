using System.Text.Json;
using Pipeline.Streams.Queue;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Queue;

/// <summary>
/// Faults while requests are in flight: the broker drops the server's connection, then the broker restarts. Every
/// request is answered, none is run twice, and the server reconnects by itself.
/// </summary>
[Collection("broker")]
public class QueueResilienceTests(SlowQueueServerFixture server, ITestOutputHelper output) : IClassFixture<SlowQueueServerFixture>
{
    [Fact]
    public async Task DroppedConnectionAndBrokerRestartLoseNoRequestAndRunNoneTwice()
    {
        const int n = 240, maxTokens = 48;
        var rnd = new Random(11);
        var jobs = Enumerable.Range(0, n).Select(i => (Id: $"resilient-{i}", Prompt: Enumerable.Range(0, rnd.Next(2, 12)).Select(_ => rnd.Next(3, 500)).ToArray())).ToList();
        long executedBefore = await server.Counter("requests_executed"), completedBefore = await server.Counter("requests_completed");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var client = server.Client("resilience");
        // A durable reply queue: it and the persistent final events in it outlive the broker restart.
        var replyName = server.Topology.RequestQueue + ".replies";
        var replies = new EventLog();
        var replyQueue = await client.OpenQueueAsync(replyName, durable: true, cts.Token);
        var pump = replies.Pump(replyQueue, cts.Token);
        try
        {
            await Task.WhenAll(jobs.Select(j => client.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new
            {
                request_id = j.Id, prompt = j.Prompt, max_tokens = maxTokens, temperature = 0, ignore_eos = true, reply_to = replyName,
            }), new QueueProperties(), cts.Token)));

            await replies.WaitFor(n / 6, TimeSpan.FromMinutes(1));
            int closed = Broker.CloseConnections($"pipeline-serve-{server.ProcessId}");
            output.WriteLine($"dropped the server's connection ({closed}) after {replies.Finished} of {n} answers");
            Assert.Equal(1, closed);
            await replies.WaitFor(n / 2, TimeSpan.FromMinutes(1));
            output.WriteLine($"restarting the broker after {replies.Finished} of {n} answers");
            Broker.Restart();
            output.WriteLine($"broker back after {replies.Finished} of {n} answers");
            await replies.WaitFor(n, TimeSpan.FromMinutes(3));

            long executed = await server.Counter("requests_executed") - executedBefore;
            long skipped = await server.Counter("duplicates_skipped");
            output.WriteLine($"executed {executed}, redelivered duplicates skipped {skipped}, final events received {replies.RawTerminal} (copies included)");
            Assert.Equal(n, executed);
            Assert.Equal(n, await server.Counter("requests_completed") - completedBefore);
            var gate = new SemaphoreSlim(16);
            await Task.WhenAll(jobs.Select(async j =>
            {
                await gate.WaitAsync();
                try
                {
                    var finals = replies.Deduped(j.Id).Where(e => e.IsTerminal).ToList();
                    Assert.Single(finals);
                    Assert.Equal(await server.HttpGreedy(j.Prompt, maxTokens), EventLog.FinalTokens(finals[0]));
                }
                finally { gate.Release(); }
            }));

            // Recovered by itself: a request published now is answered.
            await client.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new { request_id = "after-faults", prompt = new[] { 1, 2, 3 }, max_tokens = 2, reply_to = replyName }), new QueueProperties(), cts.Token);
            await replies.WaitFor(n + 1, TimeSpan.FromMinutes(1));
            Assert.Equal(n + 1, await server.Counter("requests_executed") - executedBefore);
        }
        finally
        {
            cts.Cancel();
            await replyQueue.DisposeAsync();
            try { Broker.Ctl("delete_queue", replyName); } catch (InvalidOperationException) { }
        }
    }
}
