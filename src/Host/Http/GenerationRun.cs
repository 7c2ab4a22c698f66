using System.Diagnostics;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Actors.Stages;
using Pipeline.Models.Sampling;
using Pipeline.Streams;

namespace Pipeline.Host.Http;

/// <summary>
/// One prompt of an API request run through the engine, with the timings and token counts the metrics and the
/// usage block need. Engine errors become API errors: bad input 400, a failed stage 500 naming the request.
/// </summary>
/// <param name="everyStep">One output per engine step (the queue's deltas are then the same when a request runs again).</param>
public sealed class GenerationRun(ServerContext server, string requestId, PromptInput prompt, SamplingParams sp, int priority,
    Pipeline.Models.Lora.LoRARequest? lora = null, bool everyStep = false)
{
    readonly Stopwatch _clock = Stopwatch.StartNew();
    readonly List<double> _itl = new();
    double? _ttft;
    double _lastToken;

    public string RequestId { get; } = requestId;
    public int PromptTokens { get; private set; }
    public int CompletionTokens { get; private set; }
    /// <summary>How the request ended (stop, length, abort), once it has.</summary>
    public string? FinishReason { get; private set; }

    public async IAsyncEnumerable<RequestOutput> RunAsync([System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        var stream = server.Engine.GenerateAsync(prompt, sp, RequestId, priority, ct: ct, lora: lora, everyStep: everyStep);
        await using var e = stream.GetAsyncEnumerator(ct);
        RequestOutput? last = null;
        try
        {
            while (true)
            {
                RequestOutput current;
                try
                {
                    if (!await e.MoveNextAsync()) break;
                    current = e.Current;
                }
                catch (SamplingParamsException ex) { throw ApiError.BadRequest(ex.Message, ex.Field); }
                catch (ArgumentException ex) { throw ApiError.BadRequest(ex.Message); }
                catch (PipelineStageException ex) { throw new ApiError(500, $"{ex.Message} (request id {RequestId})"); }
                catch (EngineShuttingDownException ex) { throw new ApiError(503, ex.Message); }
                catch (EngineOverloadedException ex) { throw new ApiError(429, ex.Message); }
                catch (Pipeline.Actors.Cluster.NoWorkerAvailableException ex) { throw new ApiError(503, ex.Message); }
                Observe(current);
                last = current;
                yield return current;
            }
            if (last != null && last.Finished) Finish(last.Outputs.Select(c => c.FinishReason).LastOrDefault(r => r != null) ?? "stop");
        }
        finally
        {
            // The client went away (a closed connection, the chat page's stop button) while the request ran: the
            // engine aborts it (cancelling ct does), and it counts as vLLM counts an aborted request, finished_reason "abort".
            if (FinishReason == null && ct.IsCancellationRequested) Finish("abort");
        }
    }

    void Observe(RequestOutput o)
    {
        PromptTokens = o.PromptTokenIds.Count;
        int newTokens = o.Outputs.Sum(c => c.TokenIds.Count);
        // Delta outputs carry only new tokens; the other kinds carry everything so far.
        CompletionTokens = sp.OutputKind == RequestOutputKind.Delta ? CompletionTokens + newTokens : newTokens;
        if (newTokens == 0) return;
        double now = _clock.Elapsed.TotalSeconds;
        if (_ttft == null) _ttft = now;
        else _itl.Add(now - _lastToken);
        _lastToken = now;
    }

    void Finish(string reason)
    {
        FinishReason = reason;
        server.Metrics.RequestFinished(PromptTokens, CompletionTokens, reason, _clock.Elapsed.TotalSeconds, _ttft, _itl);
    }
}
