using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Host.Tests.Cluster;

/// <summary>
/// A cluster of real processes on loopback ports, all serving the built-in pipeline-tiny-en on CPU: a front node
/// (prefix-affinity routing), a second front routing by least load (to compare the two), and three workers. The
/// reference outputs come from the single-process offline path (`pipeline generate`), for the same prompts.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public const int LongTokens = 96, ShortTokens = 6;
    public readonly List<ClusterNode> Workers = new();
    readonly List<ClusterNode> _retired = new();
    public ClusterNode Front { get; private set; } = null!;
    /// <summary>The second front: least-load routing, and RabbitMQ ingress on queues of its own.</summary>
    public ClusterNode LeastLoadFront { get; private set; } = null!;
    public Pipeline.Streams.Queue.QueueTopology Topology { get; } = MakeTopology();
    public int FrontPort { get; } = ClusterNode.FreePort();
    public int LeastLoadPort { get; } = ClusterNode.FreePort();
    public string Seed { get; private set; } = "";
    public HttpClient Http { get; } = new(new SocketsHttpHandler { MaxConnectionsPerServer = 1000 }) { Timeout = TimeSpan.FromMinutes(3) };
    public string[] Prompts { get; } = MakePrompts(30);
    /// <summary>Greedy single-process outputs per prompt (text, token ids) for <see cref="LongTokens"/>; shorter runs are their prefixes.</summary>
    public (string Text, int[] Ids)[] Long { get; private set; } = [];
    public GreedyRun[] Reference { get; private set; } = [];

    static Pipeline.Streams.Queue.QueueTopology MakeTopology()
    {
        var tag = Guid.NewGuid().ToString("N")[..8];
        return new() { RequestQueue = $"cluster.requests.{tag}", EventsExchange = $"cluster.events.{tag}", DeadLetterQueue = $"cluster.dlq.{tag}" };
    }

    static string[] MakePrompts(int n)
    {
        string[] subjects = ["The Congress", "The whale", "Our people", "The Government", "The captain", "The ship", "The nation", "The sea", "The President", "The crew"];
        string[] verbs = ["has", "will", "must", "should", "saw"];
        return Enumerable.Range(0, n).Select(i => $"{subjects[i % subjects.Length]} {verbs[i / subjects.Length % verbs.Length]}").ToArray();
    }

    public async Task InitializeAsync()
    {
        int frontCluster = ClusterNode.FreePort();
        Seed = $"127.0.0.1:{frontCluster}";
        Queue.Broker.EnsureRunning();
        var reference = Task.Run(() => Generate(LongTokens));
        // The front gets the model's config and tokenizer only: a front-only node must not need (or load) the weights.
        Front = ClusterNode.Start("front", "front", frontCluster, Seed, WeightlessModelCopy(), "--served-model-name", "pipeline-tiny-en",
            "--port", FrontPort.ToString(), "--queue", "off");
        for (int i = 0; i < 3; i++) AddWorker();
        LeastLoadFront = ClusterNode.Start("front-least-load", "front", ClusterNode.FreePort(), Seed, "--port", LeastLoadPort.ToString(),
            "--cluster-routing", "least-load", "--queue", Queue.Broker.Url, "--queue-name", Topology.RequestQueue, "--queue-exchange", Topology.EventsExchange,
            "--queue-dead-letter", Topology.DeadLetterQueue);
        (Long, Reference) = await reference;
        await WaitForReplicas(FrontPort, 3, TimeSpan.FromSeconds(150));
        await WaitForReplicas(LeastLoadPort, 3, TimeSpan.FromSeconds(60));
    }

    /// <summary>The built-in model's folder without its safetensors: config, generation config and tokenizer files.</summary>
    static string WeightlessModelCopy()
    {
        var source = Path.Combine(AppContext.BaseDirectory, "models", "pipeline-tiny-en");
        var dir = Directory.CreateTempSubdirectory("front-model").FullName;
        foreach (var f in Directory.GetFiles(source).Where(f => !f.EndsWith(".safetensors")))
            File.Copy(f, Path.Combine(dir, Path.GetFileName(f)));
        Assert.Empty(Directory.GetFiles(dir, "*.safetensors"));
        return dir;
    }

    ((string Text, int[] Ids)[], GreedyRun[]) Generate(int maxTokens)
    {
        var args = new List<string> { "generate", "--max-tokens", maxTokens.ToString(), "--temperature", "0", "--ignore-eos", "--output", "json", "--logprobs", "5" };
        foreach (var prompt in Prompts) { args.Add("--prompt"); args.Add(prompt); }
        var psi = new System.Diagnostics.ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        psi.ArgumentList.Add(Path.Combine(AppContext.BaseDirectory, "pipeline.dll"));
        foreach (var a in args) psi.ArgumentList.Add(a);
        using var p = System.Diagnostics.Process.Start(psi)!;
        var stdoutTask = p.StandardOutput.ReadToEndAsync();
        var stderr = p.StandardError.ReadToEndAsync();
        if (!p.WaitForExit(300_000)) { p.Kill(true); throw new TimeoutException("pipeline generate did not finish in 300 s"); }
        var stdout = stdoutTask.Result;
        Assert.True(p.ExitCode == 0, stderr.Result);
        var lines = stdout.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonNode.Parse(l)!).ToList();
        var outputs = lines.Select(j => (j["text"]!.GetValue<string>(), j["token_ids"]!.AsArray().Select(t => t!.GetValue<int>()).ToArray())).ToArray();
        var runs = lines.Select((j, i) => new GreedyRun(outputs[i].Item2, j["logprobs"]!.AsArray()
            .Select(d => d!.AsObject().ToDictionary(p => int.Parse(p.Key), p => p.Value!.GetValue<float>())).ToArray())).ToArray();
        return (outputs, runs);
    }

    public ClusterNode AddWorker()
    {
        var w = ClusterNode.Start($"worker-{Workers.Count + _retired.Count}", "worker", ClusterNode.FreePort(), Seed);
        Workers.Add(w);
        return w;
    }

    /// <summary>Takes a worker out of the live set (it was killed or left); it is disposed with the fixture.</summary>
    public void Retire(ClusterNode w)
    {
        Workers.Remove(w);
        _retired.Add(w);
    }

    /// <summary>Starts workers until <paramref name="n"/> are live, and waits for the front to see them.</summary>
    public async Task EnsureWorkers(int n)
    {
        while (Workers.Count < n) AddWorker();
        await WaitForReplicas(FrontPort, n, TimeSpan.FromSeconds(120));
    }

    public async Task<JsonElement> Status(int port) =>
        JsonDocument.Parse(await Http.GetStringAsync($"http://127.0.0.1:{port}/cluster/status")).RootElement;

    public async Task WaitForReplicas(int port, int n, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        int seen = -1;
        while (DateTime.UtcNow < deadline)
        {
            try
            {
                var s = await Status(port);
                seen = s.GetProperty("replicas").EnumerateArray().Count(r => !r.GetProperty("draining").GetBoolean());
                if (seen >= n) return;
            }
            catch (HttpRequestException) { }
            if (Front.HasExited) throw new InvalidOperationException("the front node exited:\n" + string.Join("\n", Front.Output.TakeLast(30)));
            await Task.Delay(250);
        }
        throw new TimeoutException($"front on port {port} sees {seen} replicas, not {n}, after {timeout}; workers:\n" +
            string.Join("\n", Workers.Select(w => $"{w.Name}: " + string.Join(" | ", w.Output.TakeLast(5)))));
    }

    /// <summary>Greedy token ids and top-5 logprobs of a non-streamed completion (vLLM's return_tokens_as_token_ids).</summary>
    public async Task<GreedyRun> CompleteIds(int port, string prompt, int maxTokens)
    {
        var body = JsonSerializer.Serialize(new { prompt, max_tokens = maxTokens, temperature = 0, ignore_eos = true, logprobs = 5, return_tokens_as_token_ids = true });
        using var r = await Http.PostAsync($"http://127.0.0.1:{port}/v1/completions", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var text = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, text);
        return GreedyRun.FromCompletionLogprobs([JsonDocument.Parse(text).RootElement.GetProperty("choices")[0].GetProperty("logprobs")]);
    }

    /// <summary>Checks a short run of prompt <paramref name="prompt"/> against the reference's first tokens.</summary>
    public int CheckShort(int prompt, GreedyRun run, string what) => Reference[prompt].Prefix(ShortTokens).AssertMatches(run.Ids, run.Top, what);

    public Task<HttpResponseMessage> Complete(int port, string prompt, int maxTokens, bool stream, string? id = null)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{port}/v1/completions")
        {
            Content = JsonContent.Create(new Dictionary<string, object>
            {
                ["prompt"] = prompt, ["max_tokens"] = maxTokens, ["temperature"] = 0, ["ignore_eos"] = true, ["stream"] = stream,
                ["logprobs"] = 5, ["return_tokens_as_token_ids"] = true,
            }),
        };
        if (id != null) req.Headers.Add("X-Request-Id", id);
        return Http.SendAsync(req, stream ? HttpCompletionOption.ResponseHeadersRead : HttpCompletionOption.ResponseContentRead);
    }

    public async Task DisposeAsync()
    {
        foreach (var n in Workers.Concat(_retired).Append(Front).Append(LeastLoadFront)) if (n != null) await n.DisposeAsync();
        try { Queue.Broker.DeleteQueues(Topology); } catch (Exception) { }
    }
}
