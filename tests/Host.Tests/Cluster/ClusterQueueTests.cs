using System.Text.Json;
using Pipeline.Host.Tests.Queue;
using Pipeline.Streams.Queue;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Cluster;

/// <summary>RabbitMQ ingress on a front node of the cluster: a worker killed mid-run loses no message and runs none twice.</summary>
[Collection("cluster")]
public class ClusterQueueTests(ClusterFixture cluster, ITestOutputHelper output)
{
    [Fact]
    public async Task QueueRequestsSurviveAKilledWorkerExactlyOnce()
    {
        await cluster.EnsureWorkers(3);
        var topology = cluster.Topology;
        var tag = Guid.NewGuid().ToString("N")[..8];
        int port = cluster.LeastLoadPort;
        {
            await cluster.WaitForReplicas(port, 3, TimeSpan.FromSeconds(120));
            using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(3));
            await using var client = new RabbitMqQueueTransport(new Uri(Broker.Url), topology, $"test-cluster-{tag}");
            var events = new EventLog();
            var sub = await client.SubscribeAsync("#", cts.Token);
            var pump = events.Pump(sub, cts.Token);
            int n = cluster.Prompts.Length;
            foreach (var i in Enumerable.Range(0, n))
                await client.PublishRequestAsync(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
                {
                    ["request_id"] = $"q-{tag}-{i}", ["prompt"] = cluster.Prompts[i], ["max_tokens"] = ClusterFixture.LongTokens, ["temperature"] = 0, ["ignore_eos"] = true,
                }), new QueueProperties(), cts.Token);

            // Once tokens flow, kill the worker holding the most of them.
            var deadline = DateTime.UtcNow.AddSeconds(60);
            while (Enumerable.Range(0, n).Count(i => events.Of($"q-{tag}-{i}").Count > 0) < 5 && DateTime.UtcNow < deadline) await Task.Delay(100);
            var busiest = (await cluster.Status(port)).GetProperty("replicas").EnumerateArray().OrderByDescending(r => r.GetProperty("outstanding").GetInt32()).First();
            Assert.True(busiest.GetProperty("outstanding").GetInt32() > 0);
            var victim = cluster.Workers.Single(w => w.Address == busiest.GetProperty("node").GetString());
            victim.Kill9();
            cluster.Retire(victim);

            await events.WaitFor(n, TimeSpan.FromMinutes(2));
            await Task.Delay(500);
            Assert.Equal(n, events.RawTerminal);   // one final per request: none ran twice
            for (int i = 0; i < n; i++)
            {
                var log = events.Of($"q-{tag}-{i}");
                Assert.Equal(log.Count, log.DistinctBy(e => e.Seq).Count());   // no event twice
                var final = log.Single(e => e.IsTerminal);
                Assert.Equal("final", final.Type);
                var choice = final.Json.GetProperty("choices")[0];
                var ids = choice.GetProperty("token_ids").EnumerateArray().Select(t => t.GetInt32()).ToArray();
                cluster.Reference[i].AssertMatches(ids, null, $"queue request {i}");
                Assert.Equal(ids, log.Where(e => e.Type == "delta").OrderBy(e => e.Seq).SelectMany(e => e.TokenIds).ToArray());   // deltas: no gap, no repeat
            }
            var metrics = await cluster.Http.GetStringAsync($"http://127.0.0.1:{port}/metrics");
            output.WriteLine(string.Join("\n", metrics.Split('\n').Where(l => l.StartsWith("pipeline:queue_"))));
            long Counter(string name) => long.Parse(metrics.Split('\n').First(l => l.StartsWith($"pipeline:queue_{name}_total{{")).Split(' ')[^1]);
            Assert.Equal(n, Counter("requests_executed"));   // each message ran once on the engine
            Assert.Equal(n, Counter("requests_completed"));
            cts.Cancel();
        }
    }
}
