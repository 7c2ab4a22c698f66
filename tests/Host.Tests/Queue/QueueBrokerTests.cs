using System.Text;
using System.Text.Json;
using Pipeline.Host.Queue;
using Pipeline.Streams.Queue;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Queue;

/// <summary>`pipeline serve --queue amqp://...` against the real broker: many requests, followers, poison messages, the CLI.</summary>
[Collection("broker")]
public class QueueBrokerTests(QueueServerFixture server, ITestOutputHelper output) : IClassFixture<QueueServerFixture>
{
    static byte[] Request(string id, int[] prompt, int maxTokens, string? replyTo = null) => JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
    {
        ["request_id"] = id, ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["ignore_eos"] = true, ["reply_to"] = replyTo,
    });

    [Fact]
    public async Task ThousandRequestsAreAnsweredExactlyOnceWithTheHttpPathsOutputsAndEveryFollowerSeesEveryDelta()
    {
        const int n = 1000;
        var rnd = new Random(7);
        var jobs = Enumerable.Range(0, n).Select(i => (Id: $"thousand-{i}", Prompt: Enumerable.Range(0, rnd.Next(2, 16)).Select(_ => rnd.Next(3, 500)).ToArray(), Max: rnd.Next(1, 7))).ToList();
        long executedBefore = await server.Counter("requests_executed"), completedBefore = await server.Counter("requests_completed");
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await using var client = server.Client("thousand");

        // Followers, all subscribed before anything is published: one of every request, three of each of ten requests,
        // and a reply queue named by the even requests' reply_to.
        var all = new EventLog();
        var followed = jobs.Where((_, i) => i % 100 == 3).Select(j => j.Id).ToList();
        var perRequest = new List<(string Id, EventLog Log)>();
        var subs = new List<IQueueSubscription> { await client.SubscribeAsync("#", cts.Token) };
        var pumps = new List<Task> { all.Pump(subs[0], cts.Token) };
        foreach (var id in followed)
            for (int k = 0; k < 3; k++)
            {
                var log = new EventLog();
                var s = await client.SubscribeAsync(id, cts.Token);
                subs.Add(s);
                pumps.Add(log.Pump(s, cts.Token));
                perRequest.Add((id, log));
            }
        var replies = new EventLog();
        var replyQueue = await client.OpenQueueAsync(null, durable: false, cts.Token);
        subs.Add(replyQueue);
        pumps.Add(replies.Pump(replyQueue, cts.Token));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Task.WhenAll(jobs.Select((j, i) => client.PublishRequestAsync(Request(j.Id, j.Prompt, j.Max, i % 2 == 0 ? replyQueue.QueueName : null), new QueueProperties(), cts.Token)));
        // The HTTP path on the same server, meanwhile.
        var gate = new SemaphoreSlim(32);
        var http = await Task.WhenAll(jobs.Select(async j => { await gate.WaitAsync(); try { return await server.HttpGreedy(j.Prompt, j.Max); } finally { gate.Release(); } }));
        await all.WaitFor(n, TimeSpan.FromMinutes(4));
        await replies.WaitFor(n / 2, TimeSpan.FromMinutes(1));
        foreach (var (_, log) in perRequest) await log.WaitFor(1, TimeSpan.FromMinutes(1));
        output.WriteLine($"{n} queue requests (and {n} HTTP ones) in {clock.Elapsed.TotalSeconds:F1} s");

        for (int i = 0; i < n; i++)
        {
            var events = all.Of(jobs[i].Id);
            var final = EventLog.CheckStream(events);
            Assert.Equal(http[i], EventLog.FinalTokens(final));
            Assert.Equal(jobs[i].Max, EventLog.FinalTokens(final).Length);
            if (i % 2 == 0) Assert.Equal(events.Select(e => e.Json.GetRawText()), replies.Of(jobs[i].Id).Select(e => e.Json.GetRawText()));
            else Assert.Empty(replies.Of(jobs[i].Id));
        }
        Assert.Equal(n / 2, replies.RawTerminal);
        foreach (var (id, log) in perRequest)
            Assert.Equal(all.Of(id).Select(e => e.Json.GetRawText()), log.Of(id).Select(e => e.Json.GetRawText()));
        Assert.Equal(n, await server.Counter("requests_executed") - executedBefore);
        Assert.Equal(n, await server.Counter("requests_completed") - completedBefore);

        cts.Cancel();
        foreach (var s in subs) await s.DisposeAsync();
    }

    [Fact]
    public async Task PoisonMessagesGoToTheDeadLetterQueueWithTheReasonAndConsumptionContinues()
    {
        var poison = new (string Body, string Reason, string? Id)[]
        {
            ("not json {", "invalid JSON", null),
            ("[1, 2, 3]", "must be a JSON object", null),
            ("""{"prompt": [1, 2]}""", "request_id is required", null),
            ("""{"request_id": "bad id!", "prompt": [1, 2]}""", "request_id must be", null),
            ("""{"request_id": "poison-maxtok", "prompt": [1, 2], "max_tokens": "x"}""", "max_tokens must be an integer", "poison-maxtok"),
            ("""{"request_id": "poison-model", "prompt": [1, 2], "model": "nope"}""", "does not exist", "poison-model"),
            ("""{"request_id": "poison-both", "prompt": [1, 2], "messages": [{"role": "user", "content": "hi"}]}""", "exactly one of prompt, messages and file", "poison-both"),
            ("""{"request_id": "poison-text", "prompt": "hello"}""", "no tokenizer", "poison-text"),
            ($$"""{"request_id": "poison-long", "prompt": [{{string.Join(",", Enumerable.Range(1, 200))}}], "max_tokens": 1}""", "128", "poison-long"),
        };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await using var client = server.Client("poison");
        while (await client.GetAsync(server.Topology.DeadLetterQueue, cts.Token) != null) { }
        var log = new EventLog();
        await using var sub = await client.SubscribeAsync("#", cts.Token);
        var pump = log.Pump(sub, cts.Token);
        for (int i = 0; i < poison.Length; i++)
        {
            await client.PublishRequestAsync(Encoding.UTF8.GetBytes(poison[i].Body), new QueueProperties { Headers = new Dictionary<string, string> { ["x-test-case"] = i.ToString() } }, cts.Token);
            await client.PublishRequestAsync(Request($"good-{i}", [1, 2, 3 + i], 3), new QueueProperties(), cts.Token);
        }
        await log.WaitFor(poison.Length * 2 - poison.Count(p => p.Id == null), TimeSpan.FromMinutes(1));

        for (int i = 0; i < poison.Length; i++) EventLog.CheckStream(log.Of($"good-{i}"));
        var dead = new Dictionary<int, QueueMessage>();
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (dead.Count < poison.Length && DateTime.UtcNow < deadline)
        {
            if (await client.GetAsync(server.Topology.DeadLetterQueue, cts.Token) is { } m) dead[int.Parse(m.Properties.Headers!["x-test-case"])] = m;
            else await Task.Delay(50);
        }
        Assert.Equal(poison.Length, dead.Count);
        for (int i = 0; i < poison.Length; i++)
        {
            var headers = dead[i].Properties.Headers!;
            output.WriteLine($"{poison[i].Body[..Math.Min(40, poison[i].Body.Length)]} -> {headers[QueueHeaders.Error]}");
            Assert.Contains(poison[i].Reason, headers[QueueHeaders.Error]);
            Assert.Equal(server.Topology.RequestQueue, headers[QueueHeaders.OriginalQueue]);
            Assert.Equal(poison[i].Body, Encoding.UTF8.GetString(dead[i].Body.Span));
            if (poison[i].Id is string id)
            {
                var error = Assert.Single(log.Of(id));
                Assert.Equal(QueueEvents.Error, error.Type);
                Assert.Contains(poison[i].Reason, error.Json.GetProperty("error").GetProperty("message").GetString());
            }
        }
        cts.Cancel();
    }

    [Fact]
    public async Task CliPublishFollowsOverTheBrokerAndQueueFollowReplaysOverHttp()
    {
        string[] topology = ["--queue-name", server.Topology.RequestQueue, "--queue-exchange", server.Topology.EventsExchange, "--queue-dead-letter", server.Topology.DeadLetterQueue];
        var (exit, stdout, stderr) = PipelineProcess.Run(["queue", "publish", "--queue", Broker.Url, "--prompt-ids", "5,6,7,8", "--max-tokens", "6", "--temperature", "0",
            "--ignore-eos", "--id", "cli-1", "--follow", "--output", "json", .. topology]);
        Assert.True(exit == 0, stderr);
        var events = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => QueueEvent.Parse(Encoding.UTF8.GetBytes(l))).ToList();
        var final = EventLog.CheckStream(events);
        Assert.Equal(await server.HttpGreedy([5, 6, 7, 8], 6), EventLog.FinalTokens(final));

        // Late follower through the server: the whole stream again, from seq 0.
        (exit, var replay, stderr) = PipelineProcess.Run(["queue", "follow", "cli-1", "--queue", server.BaseUrl, "--output", "json"]);
        Assert.True(exit == 0, stderr);
        Assert.Equal(stdout, replay);
    }
}
