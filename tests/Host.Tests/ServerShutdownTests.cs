using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;

namespace Pipeline.Host.Tests;

/// <summary>A server whose one request would run for minutes: room for a long max_tokens, and a long --shutdown-timeout.</summary>
public sealed class LongRequestServer : ServerFixture
{
    protected override string[] ServeArgs =>
        ["--api-key", ApiKey, .. ModelArgs, "--max-model-len", "32768", "--hf-overrides", "{\"max_position_embeddings\":32768}", "--shutdown-timeout", "300"];

    /// <summary>Sends a signal to the server process (SIGINT is what Ctrl-C sends).</summary>
    public async Task SignalAsync(string signal)
    {
        using var kill = Process.Start("kill", [$"-{signal}", ProcessId.ToString()]);
        await kill.WaitForExitAsync();
    }

    public Task<int> WaitForExitAsync(TimeSpan timeout) => ExitAsync(timeout);
}

/// <summary>Stopping the server with Ctrl-C (issue 15, point 3): say what it drains; a second Ctrl-C stops at once, aborting requests.</summary>
public class ServerShutdownTests
{
    [Fact]
    public async Task SecondCtrlCStopsAtOnceAndInFlightRequestsEndWithAbort()
    {
        var server = new LongRequestServer();
        await server.InitializeAsync();
        try
        {
            var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
            {
                Content = new StringContent($$"""{"model":"{{ServerFixture.ModelName}}","prompt":"Hello","max_tokens":30000,"ignore_eos":true,"temperature":0,"stream":true}""", Encoding.UTF8, "application/json"),
            };
            req.Headers.Authorization = new AuthenticationHeaderValue("Bearer", ServerFixture.ApiKey);
            req.Headers.Add("X-Request-Id", "ctrl-c-1");
            using var response = await server.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.StartsWith("data: ", await reader.ReadLineAsync());   // the request is running

            await server.SignalAsync("INT");
            await server.WaitForOutput("draining 1 requests (up to 300 s); press Ctrl-C again to stop now", TimeSpan.FromSeconds(20));
            await Task.Delay(500);
            Assert.False(server.HasExited, "the first Ctrl-C drains: the server waits for its request");

            var clock = Stopwatch.StartNew();
            await server.SignalAsync("INT");
            var rest = await reader.ReadToEndAsync().WaitAsync(TimeSpan.FromSeconds(30));
            Assert.Contains("\"finish_reason\":\"abort\"", rest);
            Assert.Equal(0, await server.WaitForExitAsync(TimeSpan.FromSeconds(30)));
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"stopped after {clock.Elapsed}");

            // The request log (on by default): id, route, status, tokens, finish reason, time.
            var line = await server.WaitForOutput("request ctrl-c-1 POST /v1/completions 200", TimeSpan.FromSeconds(5));
            Assert.Contains("finish_reason abort", line);
            Assert.Matches(@"\d+ prompt \+ \d+ completion tokens", line);
            Assert.Matches(@"in \d+ ms", line);
        }
        finally { await server.DisposeAsync(); }
    }
}
