using System.Diagnostics;
using System.Text.Json;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Cluster;

/// <summary>
/// Issue 19's acceptance, on real processes: one front node and three CPU workers (plus a least-load front to compare
/// routing). Outputs are compared with the single-process offline path (`pipeline generate`) for the same prompts.
/// </summary>
[Collection("cluster")]
public class ClusterTests
{
    readonly ClusterFixture cluster;
    readonly ITestOutputHelper output;

    public ClusterTests(ClusterFixture cluster, ITestOutputHelper output)
    {
        this.cluster = cluster;
        this.output = output;
    }

    sealed record Streamed(GreedyRun Run, int Done, int Chunks, string? FinishReason, string Raw);

    /// <summary>A streamed completion read as it arrives; <see cref="Lines"/> counts the data lines so far.</summary>
    sealed class LiveStream
    {
        readonly System.Text.StringBuilder _raw = new();
        int _lines;
        public int Lines => Volatile.Read(ref _lines);
        public Task<Streamed> Result { get; }

        public LiveStream(Task<HttpResponseMessage> response) => Result = Read(response);

        async Task<Streamed> Read(Task<HttpResponseMessage> response)
        {
            using var r = await response;
            using var reader = new StreamReader(await r.Content.ReadAsStreamAsync());
            while (await reader.ReadLineAsync() is { } line)
            {
                lock (_raw) _raw.Append(line).Append('\n');
                if (line.StartsWith("data: ")) Interlocked.Increment(ref _lines);
            }
            string raw;
            lock (_raw) raw = _raw.ToString();
            Assert.True(r.IsSuccessStatusCode, raw);
            return Parse(raw);
        }
    }

    async Task<LiveStream[]> StartStreamsAndWaitForTokens(int n, int maxTokens, string idPrefix)
    {
        var streams = Enumerable.Range(0, n).Select(i => new LiveStream(cluster.Complete(cluster.FrontPort, cluster.Prompts[i], maxTokens, stream: true, id: $"{idPrefix}-{i}"))).ToArray();
        var deadline = DateTime.UtcNow.AddSeconds(90);
        while (streams.Count(s => s.Lines >= 2) < 3 && DateTime.UtcNow < deadline) await Task.Delay(20);
        return streams;
    }

    static Streamed Parse(string raw)
    {
        var logprobs = new List<JsonElement>();
        int done = 0, chunks = 0;
        string? finish = null;
        foreach (var line in raw.Split('\n'))
        {
            if (!line.StartsWith("data: ")) continue;
            if (line == "data: [DONE]") { done++; continue; }
            var json = JsonDocument.Parse(line[6..]).RootElement;
            Assert.False(json.TryGetProperty("error", out _), line);
            foreach (var c in json.GetProperty("choices").EnumerateArray())
            {
                chunks++;
                logprobs.Add(c.GetProperty("logprobs").Clone());
                if (c.GetProperty("finish_reason").ValueKind == JsonValueKind.String)
                {
                    Assert.Null(finish);   // one final chunk per request
                    finish = c.GetProperty("finish_reason").GetString();
                }
            }
        }
        return new Streamed(GreedyRun.FromCompletionLogprobs(logprobs), done, chunks, finish, raw);
    }

    static async Task<string> ReadText(HttpResponseMessage r)
    {
        var body = await r.Content.ReadAsStringAsync();
        Assert.True(r.IsSuccessStatusCode, body);
        return JsonDocument.Parse(body).RootElement.GetProperty("choices")[0].GetProperty("text").GetString()!;
    }

    [Fact]
    public async Task FiveHundredConcurrentRequestsMatchTheSingleProcessOutputs()
    {
        await cluster.EnsureWorkers(3);
        var clock = Stopwatch.StartNew();
        var jobs = Enumerable.Range(0, 500).Select(i => i % cluster.Prompts.Length).ToArray();
        var ids = await Task.WhenAll(jobs.Select(p => cluster.CompleteIds(cluster.FrontPort, cluster.Prompts[p], ClusterFixture.ShortTokens)));
        output.WriteLine($"500 concurrent requests in {clock.Elapsed.TotalSeconds:F1} s");
        int diverged = 0;
        for (int i = 0; i < jobs.Length; i++) if (cluster.CheckShort(jobs[i], ids[i], $"request {i}") >= 0) diverged++;
        output.WriteLine($"{500 - diverged} of 500 token-identical to the single-process run; {diverged} diverge at a near-tie (within each other's top-5)");
        // All three workers took part.
        var status = await cluster.Status(cluster.FrontPort);
        var dispatched = status.GetProperty("replicas").EnumerateArray().Select(r => r.GetProperty("dispatched").GetInt64()).ToList();
        output.WriteLine("dispatched per replica: " + string.Join(", ", dispatched));
        Assert.True(dispatched.Count(d => d > 0) >= 3, string.Join(", ", dispatched));
    }

    [Fact]
    public async Task AWorkerKilledMidRunLosesNothingAndStreamsHaveNoRepeatedOrMissingTokens()
    {
        await cluster.EnsureWorkers(3);
        var before = (await cluster.Status(cluster.FrontPort)).GetProperty("resumed").GetInt64();
        int n = cluster.Prompts.Length;
        // Kill the worker holding the most requests once they are running (tokens are streaming).
        var responses = await StartStreamsAndWaitForTokens(n, ClusterFixture.LongTokens, "kill");
        var status = await cluster.Status(cluster.FrontPort);
        var busiest = status.GetProperty("replicas").EnumerateArray().OrderByDescending(r => r.GetProperty("outstanding").GetInt32()).First();
        var node = busiest.GetProperty("node").GetString()!;
        var victim = cluster.Workers.Single(w => w.Address == node);
        int outstanding = busiest.GetProperty("outstanding").GetInt32();
        Assert.True(outstanding > 0, "the busiest worker has requests in flight");
        victim.Kill9();
        cluster.Retire(victim);
        output.WriteLine($"killed {victim.Name} holding {outstanding} requests");

        var streams = await Task.WhenAll(responses.Select(r => r.Result));
        for (int i = 0; i < n; i++)
        {
            Assert.True(streams[i].Done == 1, $"request {i}: one [DONE]\n{streams[i].Raw}");
            Assert.Equal("length", streams[i].FinishReason);
            // Exactly max_tokens tokens streamed (none repeated, none missing), equal to the uninterrupted run's.
            if (cluster.Reference[i].AssertMatches(streams[i].Run.Ids, streams[i].Run.Top, $"stream {i}") >= 0) output.WriteLine($"stream {i}: near-tie divergence");
        }
        var after = (await cluster.Status(cluster.FrontPort)).GetProperty("resumed").GetInt64();
        output.WriteLine($"resumed on other workers: {after - before}");
        Assert.True(after - before >= 1, "some requests were resumed from their streamed tokens");
        await cluster.Front.WaitForOutput($"worker {node} lost", TimeSpan.FromSeconds(5));
    }

    [Fact]
    public async Task AWorkerLeavesGracefullyAndAnotherJoinsUnderLoadWithNothingLost()
    {
        await cluster.EnsureWorkers(3);
        var leaving = cluster.Workers[0];
        int n = cluster.Prompts.Length;
        var joining = cluster.AddWorker();
        var responses = await StartStreamsAndWaitForTokens(n, ClusterFixture.LongTokens, "leave");
        await leaving.Signal("TERM");
        cluster.Retire(leaving);
        // The leaving worker takes no new requests: the front routes the next ones elsewhere.
        var during = Enumerable.Range(0, 15).Select(i => cluster.CompleteIds(cluster.FrontPort, cluster.Prompts[i], ClusterFixture.ShortTokens)).ToArray();

        var streams = await Task.WhenAll(responses.Select(r => r.Result));
        for (int i = 0; i < n; i++)
        {
            Assert.Equal(1, streams[i].Done);
            cluster.Reference[i].AssertMatches(streams[i].Run.Ids, streams[i].Run.Top, $"stream {i}");
        }
        for (int i = 0; i < during.Length; i++) cluster.CheckShort(i, await during[i], $"request {i} during the leave");
        Assert.Equal(0, await leaving.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        await leaving.WaitForOutput("drained", TimeSpan.FromSeconds(1));

        // The new worker joined and takes requests.
        await cluster.WaitForReplicas(cluster.FrontPort, 3, TimeSpan.FromSeconds(120));
        var status = await cluster.Status(cluster.FrontPort);
        Assert.Contains(status.GetProperty("replicas").EnumerateArray(), r => r.GetProperty("node").GetString() == joining.Address);
        Assert.DoesNotContain(status.GetProperty("replicas").EnumerateArray(), r => r.GetProperty("node").GetString() == leaving.Address);
        var after = await Task.WhenAll(Enumerable.Range(0, 30).Select(i => cluster.CompleteIds(cluster.FrontPort, cluster.Prompts[i], ClusterFixture.ShortTokens)));
        for (int i = 0; i < after.Length; i++) cluster.CheckShort(i, after[i], $"request {i} after the join");
        status = await cluster.Status(cluster.FrontPort);
        Assert.True(status.GetProperty("replicas").EnumerateArray().Single(r => r.GetProperty("node").GetString() == joining.Address).GetProperty("dispatched").GetInt64() > 0);
    }

    [Fact]
    public async Task PrefixAffinityRaisesThePrefixCacheHitRateOverLeastLoad()
    {
        await cluster.EnsureWorkers(3);
        await cluster.WaitForReplicas(cluster.LeastLoadPort, 3, TimeSpan.FromSeconds(60));
        var affinity = await SharedPrefixRun(cluster.FrontPort, "Whereas");
        var leastLoad = await SharedPrefixRun(cluster.LeastLoadPort, "Resolved");
        output.WriteLine($"prefix-affinity: hit rate {affinity.HitRate:P1}, {affinity.Rps:F1} req/s; least-load: hit rate {leastLoad.HitRate:P1}, {leastLoad.Rps:F1} req/s");
        Assert.True(affinity.HitRate > leastLoad.HitRate + 0.15, $"affinity {affinity.HitRate:P1} vs least-load {leastLoad.HitRate:P1}");
    }

    /// <summary>
    /// 8 groups of 6 requests; each group shares a 5-block (80-token) prefix and differs in its last words. Requests go
    /// in waves (one of each group at a time), so a group's later requests can hit what its first one cached.
    /// </summary>
    async Task<(double HitRate, double Rps)> SharedPrefixRun(int port, string word)
    {
        var (q0, h0) = await WorkerPrefixCounters();
        var clock = Stopwatch.StartNew();
        int groups = 8, perGroup = 6;
        for (int k = 0; k < perGroup; k++)
        {
            await Task.WhenAll(Enumerable.Range(0, groups).Select(async g =>
            {
                var prefix = string.Join(" ", Enumerable.Repeat($"{word} {g} the whale and the Congress of the United States", 8));
                await ReadText(await cluster.Complete(port, $"{prefix} request {k}", 2, stream: false));
            }));
        }
        var rps = groups * perGroup / clock.Elapsed.TotalSeconds;
        var (q1, h1) = await WorkerPrefixCounters();
        return ((double)(h1 - h0) / Math.Max(1, q1 - q0), rps);
    }

    async Task<(long Queries, long Hits)> WorkerPrefixCounters()
    {
        var replicas = (await cluster.Status(cluster.FrontPort)).GetProperty("replicas").EnumerateArray()
            .Select(r => r.GetProperty("engine")).Where(e => e.ValueKind == JsonValueKind.Object).ToList();
        return (replicas.Sum(e => e.GetProperty("prefixCacheQueries").GetInt64()), replicas.Sum(e => e.GetProperty("prefixCacheHits").GetInt64()));
    }
}

/// <summary>The cluster tests share one cluster (its processes start once) and run one after another.</summary>
[CollectionDefinition("cluster")]
public sealed class ClusterCollection : ICollectionFixture<ClusterFixture>;
