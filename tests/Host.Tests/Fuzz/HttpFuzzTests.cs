using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Xunit.Abstractions;

namespace Pipeline.Host.Tests.Fuzz;

/// <summary>The real server with a small body limit, so oversized bodies are cheap to send.</summary>
public sealed class FuzzServerFixture : ServerFixture
{
    public const long MaxBodyBytes = 1 << 20;
    protected override string[] ServeArgs => ["--api-key", ApiKey, "--max-request-body-bytes", MaxBodyBytes.ToString(), "--no-enable-log-requests", .. ModelArgs];
}

/// <summary>
/// Generated hostile requests against every route of the real server (<see cref="RequestFuzzer"/>), then abrupt
/// disconnects mid-body and mid-stream. Never a 5xx, never a crash; each refusal a 4xx in OpenAI's error shape that
/// names the field the case broke; every message put on the queue ends with a final or a 4xx error event; and at the
/// end nothing is running and no KV block is in use. CI runs a fixed seed and count; PIPELINE_FUZZ_SEED and
/// PIPELINE_FUZZ_COUNT make a longer run (scripts/fuzz/run.sh).
/// </summary>
public class HttpFuzzTests(FuzzServerFixture server, ITestOutputHelper output) : IClassFixture<FuzzServerFixture>
{
    static int Env(string name, int fallback) => int.TryParse(Environment.GetEnvironmentVariable(name), out var v) ? v : fallback;

    [Fact]
    public async Task GeneratedRequestsOnEveryRoute_NeverA5xx_EachRefusalNamesTheField_NothingLeaks()
    {
        int seed = Env("PIPELINE_FUZZ_SEED", 20261129), count = Env("PIPELINE_FUZZ_COUNT", 3000);
        var fuzzer = new RequestFuzzer(seed, FuzzServerFixture.MaxBodyBytes);
        var cases = Enumerable.Range(0, count).Select(_ => fuzzer.Next()).ToList();
        var failures = new ConcurrentQueue<string>();
        var statuses = new ConcurrentDictionary<int, int>();
        var queued = new ConcurrentBag<string>();
        var clock = System.Diagnostics.Stopwatch.StartNew();
        int next = -1;
        await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            int i;
            while ((i = Interlocked.Increment(ref next)) < cases.Count)
            {
                var c = cases[i];
                try
                {
                    var (status, text) = await Send(c);
                    statuses.AddOrUpdate(status, 1, (_, n) => n + 1);
                    if (Check(c, status, text) is { } problem) failures.Enqueue($"{problem}: {c.Describe()} -> {status} {Short(text)}");
                    if (status == 202 && c.QueueId != null) queued.Add(c.QueueId);
                }
                catch (Exception e) { failures.Enqueue($"{e.GetType().Name} {e.Message} ({e.InnerException?.Message}): {c.Describe()}"); }
            }
        }));
        output.WriteLine($"seed {seed}: {count} requests in {clock.Elapsed.TotalSeconds:F1} s; statuses {string.Join(", ", statuses.OrderBy(s => s.Key).Select(s => $"{s.Key}: {s.Value}"))}; {queued.Count} queued; {_resent} resent after a closed keep-alive connection");
        foreach (var f in failures.OrderBy(f => f.StartsWith("5xx") ? 0 : 1)) output.WriteLine(f);
        Assert.True(failures.IsEmpty, $"{failures.Count} failures (seed {seed}), first ones:\n" + string.Join("\n", failures.OrderBy(f => f.StartsWith("5xx") ? 0 : 1).Take(15)));

        // Every message the queue took ends with a final event or a 4xx error event naming a problem.
        foreach (var id in queued)
        {
            var events = await Follow(id);
            var last = JsonDocument.Parse(events[^1]).RootElement;
            var type = last.GetProperty("type").GetString();
            Assert.True(type == "final" || (type == "error" && last.GetProperty("error").GetProperty("code").GetInt32() is >= 400 and < 500), $"{id}: {events[^1]}");
        }
        Assert.True(statuses.Keys.Count(k => k >= 400) >= 3, "the cases should reach several kinds of refusal (400, 404, 413)");
        await AssertSettled();
    }

    [Fact]
    public async Task AbruptDisconnectsMidBodyAndMidStream_LeaveNothingRunningAndNoBlockInUse()
    {
        var rnd = new Random(7);
        for (int i = 0; i < 40; i++)
        {
            // Declares more body than it sends, then goes away.
            using var tcp = new TcpClient();
            await tcp.ConnectAsync(IPAddress.Loopback, server.Port);
            var stream = tcp.GetStream();
            var partial = "{\"prompt\":\"" + new string('a', rnd.Next(0, 2000));
            var head = $"POST {(i % 2 == 0 ? "/v1/completions" : "/v1/chat/completions")} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer {ServerFixture.ApiKey}\r\n" +
                       $"Content-Type: application/json\r\nContent-Length: {partial.Length + 5000}\r\n\r\n";
            await stream.WriteAsync(Encoding.UTF8.GetBytes(head + partial));
            if (i % 3 == 0) tcp.Client.LingerState = new LingerOption(true, 0); // a reset, not a clean close
        }
        for (int i = 0; i < 20; i++)
        {
            // Streams long generations and goes away after the first chunk (or a few).
            var chat = i % 2 == 0;
            var body = chat
                ? """{"messages":[{"role":"user","content":"go on"}],"max_tokens":200,"ignore_eos":true,"stream":true}"""
                : """{"prompt":"go on","max_tokens":200,"ignore_eos":true,"stream":true,"n":2}""";
            using var cts = new CancellationTokenSource();
            var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + (chat ? "/v1/chat/completions" : "/v1/completions")) { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
            using var response = await server.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            await using var s = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[64];
            for (int k = 0; k <= i % 4; k++) Assert.True(await s.ReadAsync(buffer) > 0);
        }
        await AssertSettled();
        var ok = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions") { Content = new StringContent("""{"prompt":"still here","max_tokens":3}""", Encoding.UTF8, "application/json") };
        ok.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.SendAsync(ok)).StatusCode);
    }

    /// <summary>Null when the answer is right for the case, else what is wrong.</summary>
    static string? Check(FuzzCase c, int status, string text)
    {
        if (status >= 500) return "5xx";
        if (status < 400)
        {
            if (text.Contains("InternalServerError") || text.Contains("\"code\":500")) return "an internal error inside a 2xx stream";
            return null;
        }
        if (c.Method == "GET" && c.Path is "/health") return null;
        // A request line Kestrel refuses itself (a NUL or a path above the root) never reaches the API: an empty 4xx.
        if (c.Kind == "no-route" && text.Length == 0) return null;
        JsonElement error;
        try { error = JsonDocument.Parse(text).RootElement.GetProperty("error"); }
        catch (Exception) { return "a refusal that is not an OpenAI-shaped error"; }
        var message = error.GetProperty("message").GetString() ?? "";
        if (string.IsNullOrWhiteSpace(message)) return "an empty error message";
        if (c.Field == null || status is 413 or 429 or 401) return null;
        var param = error.TryGetProperty("param", out var p) && p.ValueKind == JsonValueKind.String ? p.GetString() : null;
        if (param == c.Field || message.Contains(c.Field, StringComparison.Ordinal)) return null;
        // guided_json, guided_regex, ... are the older names of structured_outputs, which the message may name instead.
        if (c.Field.StartsWith("guided_", StringComparison.Ordinal) && message.Contains("structured_outputs", StringComparison.Ordinal)) return null;
        // A route that refuses every body before reading it (pooling routes on a generator) names no field.
        if (c.Path is "/v1/embeddings" or "/pooling" or "/classify" or "/score" or "/v1/rerank" && status == 400) return null;
        return $"a refusal that does not name the field '{c.Field}'";
    }

    /// <summary>
    /// A request the server answered early (before reading its body) may have its keep-alive connection closed under the
    /// next request, which then ends without a response: a client-side race, so that one is sent again on a new connection.
    /// A server fault would repeat.
    /// </summary>
    async Task<(int Status, string Text)> Send(FuzzCase c)
    {
        try { return await Send(c, server.Http); }
        catch (HttpRequestException e) when (e.HttpRequestError == HttpRequestError.ResponseEnded)
        {
            Interlocked.Increment(ref _resent);
            using var fresh = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.Zero }) { Timeout = TimeSpan.FromMinutes(2) };
            return await Send(c, fresh);
        }
    }

    int _resent;

    async Task<(int Status, string Text)> Send(FuzzCase c, HttpClient http)
    {
        var req = new HttpRequestMessage(new HttpMethod(c.Method), server.BaseUrl + c.Path);
        if (c.Body != null)
        {
            var content = new ByteArrayContent(c.Body);
            if (!string.IsNullOrEmpty(c.ContentType)) content.Headers.TryAddWithoutValidation("Content-Type", c.ContentType);
            req.Content = content;
        }
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        // The server refuses an oversized body on its declared length; without 100-continue the client would still be writing.
        if (c.Kind == "oversized") req.Headers.ExpectContinue = true;
        using var response = await http.SendAsync(req);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    async Task<List<string>> Follow(string id)
    {
        var req = new HttpRequestMessage(HttpMethod.Get, $"{server.BaseUrl}/v1/streams/{id}?wait=60");
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        using var response = await server.Http.SendAsync(req);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{id}: {(int)response.StatusCode} {text}");
        return text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries).Select(l => l["data: ".Length..]).Where(l => l != "[DONE]").ToList();
    }

    /// <summary>Waits until nothing runs or waits and the KV cache is empty (aborts of dropped connections take a moment).</summary>
    async Task AssertSettled()
    {
        string model = ServerFixture.ModelName;
        var deadline = DateTime.UtcNow.AddSeconds(60);
        string metrics = "";
        while (DateTime.UtcNow < deadline)
        {
            metrics = await server.Http.GetStringAsync(server.BaseUrl + "/metrics");
            if (Metric(metrics, $"vllm:num_requests_running{{model_name=\"{model}\"}}") == 0
                && Metric(metrics, $"vllm:num_requests_waiting{{model_name=\"{model}\"}}") == 0
                && Metric(metrics, $"vllm:kv_cache_usage_perc{{model_name=\"{model}\"}}") == 0) break;
            await Task.Delay(200);
        }
        Assert.Equal(0, Metric(metrics, $"vllm:num_requests_running{{model_name=\"{model}\"}}"));
        Assert.Equal(0, Metric(metrics, $"vllm:num_requests_waiting{{model_name=\"{model}\"}}"));
        Assert.Equal(0, Metric(metrics, $"vllm:kv_cache_usage_perc{{model_name=\"{model}\"}}"));
        Assert.False(server.HasExited);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync(server.BaseUrl + "/health")).StatusCode);
    }

    static double Metric(string text, string name)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line == null ? double.NaN : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }

    static string Short(string s) => s.Length > 300 ? s[..300] + "..." : s;
}
