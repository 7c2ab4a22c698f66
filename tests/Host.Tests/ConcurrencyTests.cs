using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Host.Tests;

/// <summary>Many concurrent streaming clients, then the Prometheus counters must equal what was sent.</summary>
public class ConcurrencyTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    [Fact]
    public async Task TwoHundredFiftySixStreamingClientsGetCompleteStreamsAndMetricsAddUp()
    {
        const int clients = 256, maxTokens = 8;
        var rnd = new Random(4);
        var prompts = Enumerable.Range(0, clients).Select(i => $"Request {i}: {string.Join(' ', Enumerable.Range(0, rnd.Next(1, 20)).Select(_ => rnd.Next(1000)))}").ToList();
        var results = await Task.WhenAll(prompts.Select(async p =>
        {
            var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
            {
                Content = new StringContent(JsonSerializer.Serialize(new { prompt = p, max_tokens = maxTokens, temperature = 0, ignore_eos = true, stream = true, stream_options = new { include_usage = true } }), Encoding.UTF8, "application/json"),
            };
            req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
            var r = await server.Http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, r.StatusCode);
            var text = await r.Content.ReadAsStringAsync();
            var events = text.Split("\n\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("data: [DONE]", events[^1]);
            var chunks = events[..^1].Select(e => JsonDocument.Parse(e["data: ".Length..]).RootElement).ToList();
            var usage = chunks[^1].GetProperty("usage");
            Assert.Equal(maxTokens, usage.GetProperty("completion_tokens").GetInt32());
            Assert.Equal("length", chunks.SelectMany(c => c.GetProperty("choices").EnumerateArray()).Last().GetProperty("finish_reason").GetString());
            return usage.GetProperty("prompt_tokens").GetInt32();
        })).WaitAsync(TimeSpan.FromMinutes(4));

        var metrics = await server.Http.GetStringAsync(server.BaseUrl + "/metrics");
        double Metric(string pattern) => double.Parse(Regex.Match(metrics, "^" + Regex.Escape(pattern) + @" (\S+)$", RegexOptions.Multiline).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(results.Sum(), Metric($"vllm:prompt_tokens_total{{model_name=\"{ServerFixture.ModelName}\"}}"));
        Assert.Equal(clients * maxTokens, Metric($"vllm:generation_tokens_total{{model_name=\"{ServerFixture.ModelName}\"}}"));
        Assert.Equal(clients, Metric($"vllm:request_success_total{{model_name=\"{ServerFixture.ModelName}\",finished_reason=\"length\"}}"));
        Assert.Equal(0, Metric($"vllm:num_requests_running{{model_name=\"{ServerFixture.ModelName}\"}}"));
        Assert.Contains("vllm:time_to_first_token_seconds_bucket", metrics);
        Assert.Contains("process_cpu_seconds_total", metrics);
    }
}

/// <summary>Malformed and hostile requests: each a 4xx with a clear message; the server stays up and serves.</summary>
public class HostileRequestTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    static IEnumerable<(string Path, byte[] Body, string? ContentType)> Cases()
    {
        var rnd = new Random(9);
        string[] fields = ["temperature", "top_p", "top_k", "max_tokens", "n", "seed", "logprobs", "stop", "min_p", "presence_penalty", "logit_bias", "stream", "prompt", "messages", "stop_token_ids", "min_tokens", "priority"];
        string[] values = ["-1", "1e309", "\"x\"", "[]", "{}", "null", "true", "99999999999999999999", "-99999999", "[1,\"a\"]", "{\"a\":1}", "1.5", "[[]]", "\"\"", "3.4e38"];
        for (int i = 0; i < 800; i++)
        {
            var f = fields[rnd.Next(fields.Length)];
            var v = values[rnd.Next(values.Length)];
            var path = rnd.Next(2) == 0 ? "/v1/completions" : "/v1/chat/completions";
            var basePart = path == "/v1/completions" ? "\"prompt\":\"hi\"" : "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
            if (f is "prompt" or "messages") basePart = "\"ignore\":0";
            if (f != "max_tokens") basePart += ",\"max_tokens\":2";
            yield return (path, Encoding.UTF8.GetBytes($"{{{basePart},\"{f}\":{v}}}"), "application/json");
        }
        for (int i = 0; i < 50; i++) yield return ("/v1/completions", Encoding.UTF8.GetBytes(new string('[', 100 + i) + new string(']', 100 + i)), "application/json");
        for (int i = 0; i < 50; i++) yield return ("/v1/completions", [0x7b, 0x22, 0x70, 0xff, 0xfe, (byte)i, 0x22, 0x3a, 0x31, 0x7d], "application/json");
        for (int i = 0; i < 50; i++) yield return ("/v1/chat/completions", Encoding.UTF8.GetBytes("{\"messages\":[{\"role\":" + i + "}]}"), "application/json");
        for (int i = 0; i < 25; i++) yield return ("/v1/completions", Encoding.UTF8.GetBytes("{\"prompt\":\"x\",\"unknown_field_" + i + "\":{\"deep\":[1,2,3]},\"max_tokens\":-5}"), "application/json");
        for (int i = 0; i < 25; i++) yield return ("/v1/completions", Encoding.UTF8.GetBytes("prompt=hello"), "text/plain");
    }

    [Fact]
    public async Task ThousandHostileRequestsEachGetA4xxAndTheServerStillServes()
    {
        int n = 0;
        foreach (var (path, body, ct) in Cases())
        {
            n++;
            var content = new ByteArrayContent(body);
            if (ct != null) content.Headers.ContentType = new(ct);
            var req = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + path) { Content = content };
            req.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
            var r = await server.Http.SendAsync(req);
            var text = await r.Content.ReadAsStringAsync();
            int code = (int)r.StatusCode;
            if (code == 200) continue; // some random combinations are valid requests
            Assert.True(code is >= 400 and < 500, $"{path} {Encoding.UTF8.GetString(body)} -> {code} {text}");
            var msg = JsonDocument.Parse(text).RootElement.GetProperty("error").GetProperty("message").GetString();
            Assert.False(string.IsNullOrWhiteSpace(msg));
        }
        Assert.Equal(1000, n);
        // A huge body is refused.
        var huge = new StringContent("{\"prompt\":\"" + new string('a', 40 << 20) + "\"}", Encoding.UTF8, "application/json");
        var hr = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions") { Content = huge };
        hr.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        hr.Headers.ExpectContinue = true; // the server refuses on the declared length, before the body is sent
        var hugeResponse = await server.Http.SendAsync(hr);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, hugeResponse.StatusCode);

        var ok = new HttpRequestMessage(HttpMethod.Post, server.BaseUrl + "/v1/completions")
        { Content = new StringContent("""{"prompt":"still alive?","max_tokens":3}""", Encoding.UTF8, "application/json") };
        ok.Headers.Authorization = new("Bearer", ServerFixture.ApiKey);
        var okResponse = await server.Http.SendAsync(ok);
        Assert.Equal(HttpStatusCode.OK, okResponse.StatusCode);
        var health = await server.Http.GetAsync(server.BaseUrl + "/health");
        Assert.Equal(HttpStatusCode.OK, health.StatusCode);
    }
}
