using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Text;
using System.Text.Json;

namespace Pipeline.Host.Tests.Reliability;

/// <summary>
/// The real server whose third token-computing GPU step hangs (--inject-faults), with a 2 s step deadline (the first
/// step of each shape gets 60 s, so a slow first step on a loaded machine is not taken for a hang).
/// </summary>
public sealed class HungStepServer : ServerFixture
{
    protected override string[] ServeArgs => ["--api-key", ApiKey, "--step-timeout", "2", "--step-timeout-first-shape", "60",
        "--inject-faults", "hang-step=3;hang-seconds=600", .. ModelArgs];
}

/// <summary>As <see cref="HungStepServer"/>, configured to exit on a hung step.</summary>
public sealed class ExitOnHungStepServer : ServerFixture
{
    protected override string[] ServeArgs => ["--api-key", ApiKey, "--step-timeout", "1", "--step-timeout-first-shape", "1",
        "--on-step-timeout", "exit", "--inject-faults", "hang-step=1;hang-seconds=600", .. ModelArgs];
    public Task<int> ExitCode(TimeSpan timeout) => ExitAsync(timeout);
}

/// <summary>
/// vLLM's /health stays green while a device step hangs; here /health turns 503 with the reason within the deadline,
/// the metrics count the timeout, the hung request gets an explicit error, and the server recovers on a fresh worker.
/// </summary>
public class HungStepServerTests(HungStepServer server) : IClassFixture<HungStepServer>
{
    [Fact]
    public async Task AHungStep_TurnsHealthRedWithTheReasonWithinTheDeadline_FailsTheRequest_AndRecovers()
    {
        // Steps 1 and 2: prefill and one decode; step 3, the same prompt's prefill again, is a shape the worker has run.
        Assert.Equal(HttpStatusCode.OK, (await Complete(2)).Status);
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync(server.BaseUrl + "/health")).StatusCode);

        // Step 3 hangs.
        var clock = Stopwatch.StartNew();
        var hung = Complete(2);
        string? reason = null;
        while (clock.Elapsed < TimeSpan.FromSeconds(20))
        {
            var health = await server.Http.GetAsync(server.BaseUrl + "/health");
            if (health.StatusCode == HttpStatusCode.ServiceUnavailable)
            {
                reason = JsonDocument.Parse(await health.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("message").GetString();
                break;
            }
            await Task.Delay(50);
        }
        var redAfter = clock.Elapsed;
        Assert.NotNull(reason);
        Assert.Contains("device step", reason);
        Assert.Contains("made no progress", reason);
        // Deadline 2 s, watchdog tick 400 ms; the rest is room for a loaded machine.
        Assert.True(redAfter < TimeSpan.FromSeconds(8), $"red after {redAfter}");

        var (status, body) = await hung;
        Assert.Equal(HttpStatusCode.InternalServerError, status);
        Assert.Contains("failed in the gpu stage", body);
        Assert.Contains("made no progress", body);

        // A fresh worker takes over: healthy again, serving, and the metrics tell what happened.
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while ((await server.Http.GetAsync(server.BaseUrl + "/health")).StatusCode != HttpStatusCode.OK)
        {
            Assert.True(DateTime.UtcNow < deadline, "health did not turn green again");
            await Task.Delay(100);
        }
        Assert.Equal(HttpStatusCode.OK, (await Complete(3)).Status);
        var metrics = await server.Http.GetStringAsync(server.BaseUrl + "/metrics");
        string model = ServerFixture.ModelName;
        Assert.Equal(1, Metric(metrics, $"pipeline:step_watchdog_timeouts_total{{model_name=\"{model}\"}}"));
        Assert.Equal(1, Metric(metrics, $"pipeline:gpu_worker_restarts_total{{model_name=\"{model}\"}}"));
        Assert.Equal(1, Metric(metrics, $"pipeline:engine_healthy{{model_name=\"{model}\"}}"));
        Assert.Equal(0, Metric(metrics, $"vllm:kv_cache_usage_perc{{model_name=\"{model}\"}}"));
    }

    async Task<(HttpStatusCode Status, string Body)> Complete(int maxTokens)
    {
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
        { Content = new StringContent($$"""{"prompt":"The whale","max_tokens":{{maxTokens}},"ignore_eos":true}""", Encoding.UTF8, "application/json") };
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        var r = await server.Http.SendAsync(req);
        return (r.StatusCode, await r.Content.ReadAsStringAsync());
    }

    internal static double Metric(string text, string name)
    {
        var line = text.Split('\n').FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal));
        return line == null ? double.NaN : double.Parse(line[(name.Length + 1)..], CultureInfo.InvariantCulture);
    }
}

/// <summary>With --on-step-timeout exit the process ends non-zero (70) for its supervisor to restart it, and says why.</summary>
public class ExitOnHungStepTests(ExitOnHungStepServer server) : IClassFixture<ExitOnHungStepServer>
{
    [Fact]
    public async Task AHungStep_ExitsTheProcessWithCode70_AndLogsTheReason()
    {
        var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
        { Content = new StringContent("""{"prompt":"The whale","max_tokens":2}""", Encoding.UTF8, "application/json") };
        req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        _ = server.Http.SendAsync(req).ContinueWith(_ => { }, TaskScheduler.Default);
        Assert.Equal(70, await server.ExitCode(TimeSpan.FromSeconds(30)));
        Assert.Contains(server.Output, l => l.Contains("made no progress") && l.Contains("--on-step-timeout exit"));
    }
}
