using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Pipeline.Host.Cli;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-serve`: load a running server like `vllm bench serve` with the random dataset: random token-id
/// prompts, streamed completions with ignore_eos, Poisson arrivals at --request-rate and/or --max-concurrency;
/// reports request and token throughput and mean/median/p99 of TTFT, TPOT, ITL and end-to-end latency.
/// </summary>
public static class BenchServeCommand
{
    public static readonly CommandSpec Spec = new("bench-serve", "Benchmark a running server (like vllm bench serve, random dataset).", [],
    [
        new("base-url", "server to load", "http://127.0.0.1:8000"),
        new("model", "served model name (default: the server's first model)"),
        new("api-key", "API key, if the server needs one"),
        new("num-prompts", "requests to send", "200"),
        new("random-input-len", "prompt tokens per request", "32"),
        new("random-output-len", "output tokens per request", "32"),
        new("random-range-ratio", "lengths vary uniformly within +- this ratio", "0"),
        new("request-rate", "requests per second (Poisson arrivals); inf sends all at once", "inf"),
        new("max-concurrency", "most requests in flight at once"),
        new("vocab-size", "prompt token ids are drawn from [0, this)", "500"),
        new("seed", "random seed", "0"),
        new("random-prefix-len", "tokens of a shared prefix put before every random prompt (vllm bench serve's --random-prefix-len)", "0"),
        new("num-prefixes", "distinct shared prefixes: request i gets prefix i mod this (a prefix-repetition workload)", "1"),
    ]);

    internal sealed record Result(bool Ok, int PromptTokens, int OutputTokens, double Ttft, double E2e, List<double> Itl, string? Error);

    public static async Task<int> RunAsync(ParsedArgs args)
    {
        var baseUrl = args.Get("base-url")!.TrimEnd('/');
        using var http = new HttpClient { Timeout = TimeSpan.FromMinutes(30) };
        if (args.Get("api-key") is string key) http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        var model = args.Get("model") ?? JsonDocument.Parse(await http.GetStringAsync(baseUrl + "/v1/models")).RootElement.GetProperty("data")[0].GetProperty("id").GetString()!;
        int n = args.Int("num-prompts"), inLen = args.Int("random-input-len"), outLen = args.Int("random-output-len"), vocab = args.Int("vocab-size");
        double ratio = args.GetFloat("random-range-ratio") ?? 0;
        var rateText = args.Get("request-rate")!;
        double rate = rateText == "inf" ? double.PositiveInfinity : double.Parse(rateText, System.Globalization.CultureInfo.InvariantCulture);
        var rng = new Random(args.GetInt("seed") ?? 0);
        int Len(int mean) => Math.Max(1, (int)Math.Round(mean * (1 - ratio + 2 * ratio * rng.NextDouble())));
        int prefixLen = args.Int("random-prefix-len"), numPrefixes = args.Int("num-prefixes");
        if (prefixLen < 0) throw new CliException("--random-prefix-len must be 0 or more");
        if (numPrefixes < 1) throw new CliException("--num-prefixes must be at least 1");
        var prefixes = Enumerable.Range(0, numPrefixes).Select(_ => Enumerable.Range(0, prefixLen).Select(_ => rng.Next(vocab)).ToArray()).ToArray();
        var requests = Enumerable.Range(0, n).Select(i => (Prompt: prefixes[i % numPrefixes].Concat(Enumerable.Range(0, Len(inLen)).Select(_ => rng.Next(vocab))).ToArray(), Out: Len(outLen))).ToList();
        var gate = args.GetInt("max-concurrency") is int mc ? new SemaphoreSlim(mc) : null;

        // As vllm bench serve: one request of the first prompt's shape, untimed, so the run starts on a ready engine.
        var warm = await Send(http, baseUrl, model, requests[0].Prompt, requests[0].Out, null);
        if (!warm.Ok) { Console.Error.WriteLine($"error: the initial test request failed: {warm.Error}"); return 1; }

        var clock = Stopwatch.StartNew();
        var tasks = new List<Task<Result>>();
        foreach (var r in requests)
        {
            if (!double.IsPositiveInfinity(rate)) await Task.Delay(TimeSpan.FromSeconds(-Math.Log(1 - rng.NextDouble()) / rate));
            tasks.Add(Send(http, baseUrl, model, r.Prompt, r.Out, gate));
        }
        var results = await Task.WhenAll(tasks);
        double duration = clock.Elapsed.TotalSeconds;
        var ok = results.Where(r => r.Ok).ToList();
        long output = ok.Sum(r => (long)r.OutputTokens), input = ok.Sum(r => (long)r.PromptTokens);
        Console.WriteLine($"============ Serving Benchmark Result ============");
        Console.WriteLine($"Successful requests:                     {ok.Count}");
        Console.WriteLine($"Failed requests:                         {results.Length - ok.Count}{(results.FirstOrDefault(r => !r.Ok) is { } f ? $" (first: {f.Error})" : "")}");
        Console.WriteLine($"Benchmark duration (s):                  {duration:F2}");
        Console.WriteLine($"Total input tokens:                      {input}");
        Console.WriteLine($"Total generated tokens:                  {output}");
        Console.WriteLine($"Request throughput (req/s):              {ok.Count / duration:F2}");
        Console.WriteLine($"Output token throughput (tok/s):         {output / duration:F2}");
        Console.WriteLine($"Total token throughput (tok/s):          {(input + output) / duration:F2}");
        Stats("TTFT", ok.Select(r => r.Ttft * 1000));
        Stats("TPOT", ok.Where(r => r.OutputTokens > 1).Select(r => (r.E2e - r.Ttft) / (r.OutputTokens - 1) * 1000));
        Stats("ITL", ok.SelectMany(r => r.Itl).Select(x => x * 1000));
        Stats("E2EL", ok.Select(r => r.E2e * 1000));
        return ok.Count == results.Length ? 0 : 1;
    }

    internal static void Stats(string name, IEnumerable<double> values)
    {
        var v = values.Order().ToList();
        if (v.Count == 0) return;
        double P(double q) => v[Math.Min(v.Count - 1, (int)Math.Ceiling(q * v.Count) - 1)];
        double median = v.Count % 2 == 1 ? v[v.Count / 2] : (v[v.Count / 2 - 1] + v[v.Count / 2]) / 2;
        Console.WriteLine($"Mean {name} (ms):{"",-22}{v.Average():F2}");
        Console.WriteLine($"Median {name} (ms):{"",-20}{median:F2}");
        Console.WriteLine($"P99 {name} (ms):{"",-23}{P(0.99):F2}");
    }

    internal static async Task<Result> Send(HttpClient http, string baseUrl, string model, int[] prompt, int maxTokens, SemaphoreSlim? gate)
    {
        if (gate != null) await gate.WaitAsync();
        try
        {
            var body = JsonSerializer.Serialize(new { model, prompt, max_tokens = maxTokens, temperature = 0, ignore_eos = true, stream = true, logprobs = 0, return_tokens_as_token_ids = true });
            var sw = Stopwatch.StartNew();
            using var req = new HttpRequestMessage(HttpMethod.Post, baseUrl + "/v1/completions") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
            using var resp = await http.SendAsync(req, HttpCompletionOption.ResponseHeadersRead);
            if (!resp.IsSuccessStatusCode) return new Result(false, 0, 0, 0, 0, [], $"HTTP {(int)resp.StatusCode}: {await resp.Content.ReadAsStringAsync()}");
            using var reader = new StreamReader(await resp.Content.ReadAsStreamAsync());
            double ttft = 0, last = 0;
            int tokens = 0;
            var itl = new List<double>();
            while (await reader.ReadLineAsync() is { } line)
            {
                if (!line.StartsWith("data: ") || line == "data: [DONE]") continue;
                using var chunk = JsonDocument.Parse(line[6..]);
                if (chunk.RootElement.TryGetProperty("error", out var err)) return new Result(false, 0, 0, 0, 0, [], err.GetRawText());
                int got = chunk.RootElement.GetProperty("choices").EnumerateArray()
                    .Sum(c => c.TryGetProperty("logprobs", out var lp) && lp.ValueKind == JsonValueKind.Object ? lp.GetProperty("tokens").GetArrayLength() : 0);
                if (got == 0) continue;
                double now = sw.Elapsed.TotalSeconds;
                if (tokens == 0) ttft = now; else itl.Add(now - last);
                last = now;
                tokens += got;
            }
            return new Result(true, prompt.Length, tokens, ttft, sw.Elapsed.TotalSeconds, itl, null);
        }
        catch (Exception e) when (e is HttpRequestException or IOException or JsonException)
        {
            return new Result(false, 0, 0, 0, 0, [], e.Message);
        }
        finally { gate?.Release(); }
    }
}
