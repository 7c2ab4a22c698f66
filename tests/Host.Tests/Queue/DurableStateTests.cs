using System.Diagnostics;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Pipeline.Streams.Queue;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Queue;

/// <summary>A queue server with durable request state (--state-db), started and killed by the test.</summary>
public sealed class DurableQueueServer(QueueTopology topology, string stateDb) : QueueServerFixture(topology, deleteQueuesOnDispose: false)
{
    protected override string[] ServeArgs => [.. base.ServeArgs, "--state-db", stateDb, "--enable-log-requests"];

    /// <summary>kill -9: no shutdown handler runs, nothing is acknowledged or flushed on the way out.</summary>
    public async Task KillHard()
    {
        using (var kill = Process.Start("kill", ["-9", ProcessId.ToString()])) await kill.WaitForExitAsync();
        await ExitAsync(TimeSpan.FromSeconds(30));
    }

    public IReadOnlyList<string> Executed() =>
        Output.Select(l => System.Text.RegularExpressions.Regex.Match(l, @"queue request (\S+): executing")).Where(m => m.Success).Select(m => m.Groups[1].Value).ToList();
}

/// <summary>
/// Durable request state across a crash: a queue run of 1,000 RabbitMQ messages, the server killed with SIGKILL while it
/// runs and started again on the same --state-db. Every message is answered (one final per request id, copies of events
/// only with the same seq and content), no request finished in the first life runs again in the second, redelivered
/// copies of finished requests are acknowledged without running (their final published again), and GET /v1/streams
/// replays requests finished before the restart.
/// </summary>
[Collection("broker")]
public class DurableStateTests(ITestOutputHelper output)
{
    [Fact]
    public async Task KillDashNineAndRestartDuringAThousandMessageRun_EveryMessageAnsweredOnce_NoFinishedRequestRunsAgain()
    {
        Broker.EnsureRunning();
        var topology = Broker.UniqueTopology("durable", 64);
        var db = Path.Combine(Directory.CreateTempSubdirectory("state").FullName, "state.db");
        var first = new DurableQueueServer(topology, db);
        DurableQueueServer? second = null;
        var log = new EventLog();
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(10));
        await using var client = new RabbitMqQueueTransport(new Uri(Broker.Url), topology, $"test-durable-{Guid.NewGuid().ToString("N")[..6]}");
        try
        {
            await first.InitializeAsync();
            _ = log.Pump(await client.SubscribeAsync("#", cts.Token), cts.Token);
            var rnd = new Random(17);
            var jobs = Enumerable.Range(0, 1000).Select(i => (Id: $"durable-{i}", Prompt: Enumerable.Range(0, rnd.Next(2, 10)).Select(_ => rnd.Next(3, 500)).ToArray(), Max: rnd.Next(4, 17))).ToList();
            foreach (var j in jobs)
                await client.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new { request_id = j.Id, prompt = j.Prompt, max_tokens = j.Max, temperature = 0, ignore_eos = true }),
                    new QueueProperties { MessageId = j.Id, Persistent = true }, cts.Token);

            await log.WaitFor(300, TimeSpan.FromMinutes(5));
            await first.KillHard();
            var finishedFirst = FinishedIds(db);
            output.WriteLine($"killed after {log.Finished} finals seen; {finishedFirst.Count} finished durably; first life executed {first.Executed().Count}");
            Assert.True(finishedFirst.Count >= 300, $"every final seen was stored before it was published ({finishedFirst.Count} stored)");

            second = new DurableQueueServer(topology, db);
            await second.InitializeAsync();
            await log.WaitFor(jobs.Count, TimeSpan.FromMinutes(5));
            // Let redeliveries of requests that were running at the kill settle.
            await Task.Delay(2000);

            var executedSecond = second.Executed();
            Assert.Empty(executedSecond.Intersect(finishedFirst));
            foreach (var j in jobs)
            {
                var events = log.Of(j.Id);
                var finals = events.Where(e => e.Type == "final").ToList();
                Assert.NotEmpty(finals);
                Assert.All(finals, f => Assert.Equal(finals[0].Json.GetRawText(), f.Json.GetRawText()));
                // A request finished durably in the first life may have lost its last deltas with the killed process:
                // its stored final is republished, and followers take the final as the whole answer (docs/reliability.md).
                var final = finishedFirst.Contains(j.Id) ? EventLog.CheckStreamUpToFinal(log.Deduped(j.Id)) : EventLog.CheckStream(log.Deduped(j.Id));
                Assert.Equal(j.Max, EventLog.FinalTokens(final).Length);
            }
            Assert.Equal(jobs.Count, FinishedIds(db).Count);
            output.WriteLine($"second life executed {executedSecond.Count}; finals received {log.RawTerminal} (copies included)");

            // Copies of requests finished in the first life: acknowledged without running, their final published again.
            var again = finishedFirst.Take(50).ToList();
            long skippedBefore = await second.Counter("duplicates_skipped");
            int terminalBefore = log.RawTerminal;
            foreach (var id in again)
                await client.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new { request_id = id, prompt = new[] { 5, 6 }, max_tokens = 2 }), new QueueProperties { MessageId = id, Persistent = true }, cts.Token);
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (await second.Counter("duplicates_skipped") < skippedBefore + again.Count && DateTime.UtcNow < deadline) await Task.Delay(100);
            Assert.Equal(skippedBefore + again.Count, await second.Counter("duplicates_skipped"));
            Assert.Equal(executedSecond.Count, second.Executed().Count);
            while (log.RawTerminal < terminalBefore + again.Count && DateTime.UtcNow < deadline) await Task.Delay(50);
            Assert.True(log.RawTerminal >= terminalBefore + again.Count, "each skipped copy republishes its stored final");

            // A follower of a request finished before the restart gets its final replayed from the store.
            var replay = await second.Http.GetStringAsync($"{second.BaseUrl}/v1/streams/{again[0]}?wait=1");
            Assert.Contains("\"type\":\"final\"", replay);
            Assert.Contains($"\"request_id\":\"{again[0]}\"", replay);
            Assert.EndsWith("data: [DONE]\n\n", replay);
        }
        finally
        {
            cts.Cancel();
            await first.DisposeAsync();
            if (second != null) await second.DisposeAsync();
            Broker.DeleteQueues(topology);
        }
    }

    static HashSet<string> FinishedIds(string db)
    {
        using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT request_id FROM finished";
        var ids = new HashSet<string>();
        using var r = cmd.ExecuteReader();
        while (r.Read()) ids.Add(r.GetString(0));
        return ids;
    }
}
