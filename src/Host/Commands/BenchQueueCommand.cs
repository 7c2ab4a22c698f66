using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using Pipeline.Host.Cli;
using Pipeline.Host.Queue;
using Pipeline.Streams.Queue;
using Result = Pipeline.Host.Commands.BenchServeCommand.Result;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-queue`: the same random requests through a running server's HTTP path (streamed /v1/completions)
/// and its queue path (request messages, events on a reply queue), reporting requests/s and the latency the queue adds:
/// first single requests one at a time (HTTP and queue alternating), then all requests at once.
/// </summary>
public static class BenchQueueCommand
{
    public static readonly CommandSpec Spec = new("bench-queue", "Requests/s and added latency of the queue path against the HTTP path of a running server.", [],
    [
        new("base-url", "server to load (started with --queue)", "http://127.0.0.1:8000"),
        new("queue", "the server's broker (amqp://...), or its http:// URL for an in-process queue (POST /v1/queue/requests + GET /v1/streams)", Metavar: "URL"),
        new("api-key", "API key, if the server needs one"),
        new("num-prompts", "requests sent at once, per path", "200"),
        new("num-single", "requests sent one at a time, per path", "30"),
        new("random-input-len", "prompt tokens per request", "32"),
        new("random-output-len", "output tokens per request", "32"),
        new("vocab-size", "prompt token ids are drawn from [0, this)", "500"),
        new("seed", "random seed", "0"),
        .. QueueOptions.Topology,
    ]);

    public static async Task<int> RunAsync(ParsedArgs args)
    {
        var baseUrl = args.Get("base-url")!.TrimEnd('/');
        var queueUrl = args.Get("queue") ?? baseUrl;
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        if (args.Get("api-key") is string key) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var model = JsonDocument.Parse(await http.GetStringAsync(baseUrl + "/v1/models")).RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
        int n = args.Int("num-prompts"), single = args.Int("num-single"), inLen = args.Int("random-input-len"), outLen = args.Int("random-output-len"), vocab = args.Int("vocab-size");
        var rng = new Random(args.GetInt("seed") ?? 0);
        int[] Prompt() => Enumerable.Range(0, inLen).Select(_ => rng.Next(vocab)).ToArray();

        await using var queue = await QueuePath.Create(queueUrl, QueueOptions.ToTopology(args), args.Get("api-key"), model);
        Func<int[], Task<Result>> viaHttp = p => BenchServeCommand.Send(http, baseUrl, model, p, outLen, null);
        Func<int[], Task<Result>> viaQueue = p => queue.Send(p, outLen);
        // Warm-up (JIT, connections, the engine's batch shapes): a burst through each path, not measured.
        var warm = Enumerable.Range(0, Math.Min(n, 64)).Select(_ => Prompt()).ToList();
        await Burst(warm, viaHttp);
        await Burst(warm, viaQueue);

        var singles = (Http: new List<Result>(), Queue: new List<Result>());
        for (int i = 0; i < single; i++)
        {
            singles.Http.Add(await viaHttp(Prompt()));
            singles.Queue.Add(await viaQueue(Prompt()));
        }
        var burst = Enumerable.Range(0, n).Select(_ => Prompt()).ToList();
        var (httpAll, httpSeconds) = await Burst(burst, viaHttp);
        var (queueAll, queueSeconds) = await Burst(burst, viaQueue);

        Console.WriteLine("============ Queue vs HTTP Benchmark Result ============");
        Console.WriteLine($"Queue path:                              {queue.Description}");
        Console.WriteLine($"Requests:                                {single} single + {n} at once per path, {inLen} in / {outLen} out tokens");
        Report("HTTP", singles.Http, httpAll, httpSeconds);
        Report("Queue", singles.Queue, queueAll, queueSeconds);
        double Median(IEnumerable<double> v) { var s = v.Order().ToList(); return s.Count == 0 ? double.NaN : s.Count % 2 == 1 ? s[s.Count / 2] : (s[s.Count / 2 - 1] + s[s.Count / 2]) / 2; }
        if (single > 0) Console.WriteLine($"Added latency, single (median TTFT, ms): {1000 * (Median(singles.Queue.Select(r => r.Ttft)) - Median(singles.Http.Select(r => r.Ttft))):F2}");
        if (single > 0) Console.WriteLine($"Added latency, single (median E2EL, ms): {1000 * (Median(singles.Queue.Select(r => r.E2e)) - Median(singles.Http.Select(r => r.E2e))):F2}");
        bool ok = singles.Http.Concat(singles.Queue).Concat(httpAll).Concat(queueAll).All(r => r.Ok);
        if (!ok) Console.WriteLine($"Failed requests: first error: {singles.Http.Concat(singles.Queue).Concat(httpAll).Concat(queueAll).First(r => !r.Ok).Error}");
        return ok ? 0 : 1;
    }

    static async Task<(Result[] Results, double Seconds)> Burst(List<int[]> prompts, Func<int[], Task<Result>> send)
    {
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(prompts.Select(send));
        return (results, clock.Elapsed.TotalSeconds);
    }

    static void Report(string path, List<Result> singles, Result[] burst, double seconds)
    {
        var ok = burst.Where(r => r.Ok).ToList();
        Console.WriteLine($"---------------- {path} ----------------");
        Console.WriteLine($"Request throughput, all at once (req/s): {ok.Count / seconds:F2}");
        Console.WriteLine($"Output token throughput (tok/s):         {ok.Sum(r => r.OutputTokens) / seconds:F2}");
        BenchServeCommand.Stats("TTFT, single", singles.Where(r => r.Ok).Select(r => r.Ttft * 1000));
        BenchServeCommand.Stats("E2EL, single", singles.Where(r => r.Ok).Select(r => r.E2e * 1000));
        BenchServeCommand.Stats("E2EL, at once", ok.Select(r => r.E2e * 1000));
    }

    /// <summary>The queue path: publish a request message, time its events (on one reply queue for a broker, SSE for a server).</summary>
    sealed class QueuePath : IAsyncDisposable
    {
        readonly ConcurrentDictionary<string, Pending> _pending = new();
        IQueueTransport? _transport;
        IQueueSubscription? _replies;
        QueueClient? _client;
        Task? _pump;
        string _model = "";
        public string Description { get; private set; } = "";

        sealed class Pending(int promptTokens)
        {
            public readonly Stopwatch Clock = Stopwatch.StartNew();
            public readonly TaskCompletionSource<Result> Done = new(TaskCreationOptions.RunContinuationsAsynchronously);
            public readonly List<double> Itl = new();
            public readonly int PromptTokens = promptTokens;
            public double Ttft, Last;
            public int Tokens;

            public void On(QueueEvent e)
            {
                double now = Clock.Elapsed.TotalSeconds;
                if (e.Type == QueueEvents.Delta)
                {
                    if (Tokens == 0) Ttft = now; else Itl.Add(now - Last);
                    Last = now;
                    Tokens += e.TokenIds.Length;
                }
                else if (e.Type == QueueEvents.Final) Done.TrySetResult(new Result(true, PromptTokens, Tokens, Ttft, now, Itl, null));
                else Done.TrySetResult(new Result(false, 0, 0, 0, 0, [], e.Json.GetRawText()));
            }
        }

        public static async Task<QueuePath> Create(string url, QueueTopology topology, string? apiKey, string model)
        {
            var q = new QueuePath { _model = model };
            if (QueueTransports.IsBroker(url))
            {
                q._transport = QueueTransports.Create(url, topology, $"pipeline-bench-{Environment.ProcessId}");
                q._replies = await q._transport.OpenQueueAsync(null, durable: false, default);
                q._pump = Task.Run(async () =>
                {
                    await foreach (var m in q._replies.ReadAllAsync(default))
                    {
                        var e = QueueEvent.Parse(m.Body.Span);
                        if (q._pending.TryGetValue(e.RequestId, out var p)) p.On(e);
                    }
                });
                q.Description = $"{q._transport.Description}, reply_to one queue";
            }
            else
            {
                q._client = QueueClient.Create(url, topology, apiKey);
                q.Description = $"{url} (POST /v1/queue/requests, GET /v1/streams)";
            }
            return q;
        }

        public async Task<Result> Send(int[] prompt, int maxTokens)
        {
            var id = Guid.NewGuid().ToString("N");
            var body = JsonSerializer.SerializeToUtf8Bytes(new
            {
                request_id = id, model = _model, prompt, max_tokens = maxTokens, temperature = 0, ignore_eos = true, reply_to = _replies?.QueueName,
            });
            var p = _pending[id] = new Pending(prompt.Length);
            try
            {
                if (_transport != null)
                {
                    await _transport.PublishRequestAsync(body, new QueueProperties { MessageId = id, Persistent = false }, default);
                    return await p.Done.Task;
                }
                await _client!.PublishAsync(id, body, default);
                await foreach (var e in await _client.FollowAsync(id, TimeSpan.FromMinutes(5), default)) p.On(e);
                return await p.Done.Task;
            }
            catch (Exception e) when (e is InvalidOperationException or HttpRequestException or IOException)
            {
                return new Result(false, 0, 0, 0, 0, [], e.Message);
            }
            finally { _pending.TryRemove(id, out _); }
        }

        public async ValueTask DisposeAsync()
        {
            if (_replies != null) await _replies.DisposeAsync();
            if (_transport != null) await _transport.DisposeAsync();
            if (_client != null) await _client.DisposeAsync();
        }
    }
}
