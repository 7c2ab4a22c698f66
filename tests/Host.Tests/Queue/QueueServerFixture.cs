using System.Text.Json;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Tests.Queue;

/// <summary>The real `pipeline serve --queue amqp://...` on the tiny fixture model, with queue names of its own.</summary>
public class QueueServerFixture : ServerFixture
{
    public QueueTopology Topology { get; }

    public QueueServerFixture() : this(64) { }

    protected QueueServerFixture(ushort prefetch) => Topology = Broker.UniqueTopology(GetType().Name.ToLowerInvariant(), prefetch);

    protected QueueServerFixture(QueueTopology topology, bool deleteQueuesOnDispose)
    {
        Topology = topology;
        _deleteQueues = deleteQueuesOnDispose;
    }

    readonly bool _deleteQueues = true;

    public override string ModelDir => PipelineProcess.Fixture("llama");

    protected override string[] ServeArgs =>
    [
        "--dtype", "float32", "--max-model-len", "128", "--queue", Broker.Url, "--queue-name", Topology.RequestQueue,
        "--queue-exchange", Topology.EventsExchange, "--queue-dead-letter", Topology.DeadLetterQueue, "--queue-prefetch", Topology.Prefetch.ToString(),
    ];

    public override Task InitializeAsync()
    {
        Broker.EnsureRunning();
        return base.InitializeAsync();
    }

    public override async Task DisposeAsync()
    {
        await base.DisposeAsync();
        if (_deleteQueues) Broker.DeleteQueues(Topology);
    }

    /// <summary>A client connection to the same broker and queue names.</summary>
    public RabbitMqQueueTransport Client(string name) => new(new Uri(Broker.Url), Topology, $"test-{name}-{Guid.NewGuid().ToString("N")[..6]}");

    /// <summary>One of the server's queue counters from /metrics (pipeline:queue_..._total).</summary>
    public async Task<long> Counter(string name)
    {
        var text = await Http.GetStringAsync(BaseUrl + "/metrics");
        var line = text.Split('\n').First(l => l.StartsWith($"pipeline:queue_{name}_total{{"));
        return long.Parse(line[(line.LastIndexOf(' ') + 1)..]);
    }

    /// <summary>Greedy token ids for a prompt through the HTTP path (/v1/completions) of the same server.</summary>
    public async Task<int[]> HttpGreedy(int[] prompt, int maxTokens)
    {
        var body = JsonSerializer.Serialize(new { prompt, max_tokens = maxTokens, temperature = 0, ignore_eos = true, logprobs = 0, return_tokens_as_token_ids = true });
        using var r = await Http.PostAsync(BaseUrl + "/v1/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var json = JsonDocument.Parse(await r.Content.ReadAsStringAsync()).RootElement;
        Assert.True(r.IsSuccessStatusCode, json.GetRawText());
        return json.GetProperty("choices")[0].GetProperty("logprobs").GetProperty("tokens").EnumerateArray()
            .Select(t => int.Parse(t.GetString()!["token_id:".Length..])).ToArray();
    }
}

/// <summary>A server holding few requests at once (small prefetch), so faults land while requests are in flight.</summary>
public sealed class SlowQueueServerFixture() : QueueServerFixture(4);

/// <summary>A server on given queue names (several servers can share them), started and stopped by the test itself.</summary>
public sealed class SharedQueueServer(QueueTopology topology, bool deleteQueuesOnDispose) : QueueServerFixture(topology, deleteQueuesOnDispose);

[CollectionDefinition("broker")]
public sealed class BrokerCollection;
