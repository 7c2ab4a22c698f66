using System.Collections.Concurrent;
using System.Diagnostics;

namespace Pipeline.Host.Http;

/// <summary>
/// One info line per request, as vLLM logs its requests: id, route, status, tokens and time
/// (`--no-enable-log-requests` turns it off). Generation runs add their token counts through <see cref="Track"/>.
/// </summary>
public static class RequestLog
{
    const string Key = "request-log-runs";

    public static void Use(WebApplication app)
    {
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger("Pipeline.Host.Requests");
        app.Use(async (http, next) =>
        {
            var clock = Stopwatch.StartNew();
            var runs = new ConcurrentQueue<GenerationRun>();
            http.Items[Key] = runs;
            try { await next(http); }
            finally
            {
                var id = http.Items["request-id"] as string ?? "-";
                var route = $"{http.Request.Method} {http.Request.Path}";
                int status = http.RequestAborted.IsCancellationRequested && !http.Response.HasStarted ? 499 : http.Response.StatusCode;
                if (runs.IsEmpty)
                    logger.LogInformation("request {RequestId} {Route} {Status} in {Ms:0} ms", id, route, status, clock.Elapsed.TotalMilliseconds);
                else
                    logger.LogInformation("request {RequestId} {Route} {Status}: {PromptTokens} prompt + {CompletionTokens} completion tokens, finish_reason {FinishReason}, in {Ms:0} ms",
                        id, route, status, runs.Sum(r => r.PromptTokens), runs.Sum(r => r.CompletionTokens),
                        string.Join(",", runs.Select(r => r.FinishReason ?? "none").Distinct()), clock.Elapsed.TotalMilliseconds);
            }
        });
    }

    /// <summary>Counts <paramref name="run"/>'s tokens in its request's log line (a no-op when request logging is off).</summary>
    public static GenerationRun Track(HttpContext http, GenerationRun run)
    {
        if (http.Items[Key] is ConcurrentQueue<GenerationRun> runs) runs.Enqueue(run);
        return run;
    }
}
