using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Pipeline.Host.Tests;

/// <summary>The generation server with request logging turned off (vLLM's --no-enable-log-requests), its load progress in its log.</summary>
public sealed class QuietServer : ServerFixture
{
    protected override string[] ServeArgs => [.. base.ServeArgs, "--no-enable-log-requests"];
    protected override IReadOnlyDictionary<string, string> ServerEnvironment => new Dictionary<string, string> { ["PIPELINE_PROGRESS"] = "log" };
}

/// <summary>What a new user meets first on the server (issue 15, points 3 and 5).</summary>
public class FirstRunServerTests(QuietServer server) : IClassFixture<QuietServer>
{
    async Task<(HttpStatusCode Status, string Raw)> Post(string path, string json, string? requestId = null)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + path) { Content = new StringContent(json, Encoding.UTF8, "application/json") };
        req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey);
        if (requestId != null) req.Headers.Add("X-Request-Id", requestId);
        var r = await server.Http.SendAsync(req);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    [Theory]
    [InlineData("/v1/embeddings", "embed")]
    [InlineData("/classify", "classify")]
    [InlineData("/v1/rerank", "classify")]
    public async Task PoolingRoutesOnAGenerationModelSayHowToServeOne(string route, string convert)
    {
        var (status, raw) = await Post(route, $$"""{"model":"{{ServerFixture.ModelName}}","input":"hello"}""");
        Assert.Equal(HttpStatusCode.BadRequest, status);
        var message = JsonDocument.Parse(raw).RootElement.GetProperty("error").GetProperty("message").GetString()!;
        Assert.Contains("generation model", message);
        Assert.Contains($"--runner pooling --convert {convert}", message);
        Assert.DoesNotContain("no route", message);
    }

    [Fact]
    public async Task RequestLoggingCanBeTurnedOff()
    {
        var (status, raw) = await Post("/v1/completions", $$"""{"model":"{{ServerFixture.ModelName}}","prompt":"Hi","max_tokens":2}""", "quiet-1");
        Assert.True(status == HttpStatusCode.OK, raw);
        await server.WaitForOutput("serving ", TimeSpan.FromSeconds(5));
        await Task.Delay(300);
        Assert.DoesNotContain(server.Output, l => l.Contains("request quiet-1"));
    }

    [Fact]
    public void LoadProgressGoesToTheServerLog()
    {
        Assert.Contains(server.Output, l => l.Contains(": loading weights"));
        Assert.Contains(server.Output, l => l.Contains(": profiling and allocating the KV cache") || l.Contains(": done in"));
    }

    [Fact]
    public void QueueFollowOfAnUnknownIdSaysWhatItWaitsFor()
    {
        var (exit, _, stderr) = PipelineProcess.Run("queue", "follow", "no-such-request", "--queue", server.BaseUrl, "--api-key", ServerFixture.ApiKey, "--wait", "3");
        Assert.Equal(1, exit);
        Assert.Contains("waiting for request 'no-such-request'", stderr);
        Assert.Contains("no stream for request id 'no-such-request'", stderr);
    }
}
