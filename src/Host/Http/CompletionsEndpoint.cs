using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.Runner;
using Pipeline.Host.Protocol;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>POST /v1/completions: OpenAI's legacy completions with vLLM's extra fields, streaming or not.</summary>
public static class CompletionsEndpoint
{
    public static async Task Handle(HttpContext http, ServerContext server, CompletionRequest req)
    {
        var lora = server.ResolveModel(req.Model);
        var prompts = PromptInputs.Of(req);
        bool stream = req.IsStream;
        bool echo = req.Echo ?? false;
        int? logprobs = req.Logprobs;
        var sp = req.ToSamplingParams(server) with
        {
            Logprobs = logprobs,
            PromptLogprobs = echo && logprobs != null ? logprobs : null,
            OutputKind = stream ? RequestOutputKind.Delta : RequestOutputKind.FinalOnly,
        };
        int priority = req.Priority ?? 0;
        var tokens = new TokenText(server.Model.Tokenizer, req.ReturnTokensAsTokenIds ?? false);
        var (includeUsage, continuousUsage) = req.StreamUsage();
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var id = "cmpl-" + baseId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var runs = prompts.Select((p, i) => RequestLog.Track(http, new GenerationRun(server, prompts.Count == 1 ? baseId : $"{baseId}-{i}", p, sp, priority, lora))).ToList();
        var ct = http.RequestAborted;

        CompletionResponse Response(IReadOnlyList<CompletionChoice> choices, UsageInfo? usage) =>
            new() { Id = id, Created = created, Model = lora?.LoraName ?? server.ServedModelName, Choices = choices, Usage = usage };

        if (!stream)
        {
            var finals = await Task.WhenAll(runs.Select(async r => { RequestOutput? last = null; await foreach (var o in r.RunAsync(ct)) last = o; return last!; }));
            var choices = finals.SelectMany((o, p) => o.Outputs.Select(c => Choice(p * sp.N + c.Index, echo ? EchoText(prompts[p]) + c.Text : c.Text, c,
                logprobs != null ? Logprobs(o, c, tokens, echo) : null))).ToList();
            await Json.WriteAsync(http.Response, Response(choices, UsageInfo.Generation(finals.Sum(o => o.PromptTokenIds.Count), finals.Sum(o => o.Outputs.Sum(c => c.TokenIds.Count)))),
                ProtocolJson.Default.CompletionResponse);
            return;
        }

        var sse = new SseWriter(http.Response);
        var gate = new SemaphoreSlim(1, 1);
        int promptTotal = 0, completionTotal = 0;
        try
        {
            await Task.WhenAll(runs.Select(async (r, p) =>
            {
                bool first = true;
                await foreach (var o in r.RunAsync(ct))
                {
                    await gate.WaitAsync(ct);
                    try
                    {
                        foreach (var c in o.Outputs)
                        {
                            var text = first && echo ? EchoText(prompts[p]) + c.Text : c.Text;
                            var chunk = Response([Choice(p * sp.N + c.Index, text, c, logprobs != null ? Logprobs(o, c, tokens, false) : null)],
                                continuousUsage ? UsageInfo.Generation(r.PromptTokens, r.CompletionTokens) : null);
                            await sse.WriteAsync(chunk, ProtocolJson.Default.CompletionResponse, ct);
                        }
                        first = false;
                    }
                    finally { gate.Release(); }
                }
                Interlocked.Add(ref promptTotal, r.PromptTokens);
                Interlocked.Add(ref completionTotal, r.CompletionTokens);
            }));
            if (includeUsage)
                await sse.WriteAsync(Response([], UsageInfo.Generation(promptTotal, completionTotal)), ProtocolJson.Default.CompletionResponse, ct);
        }
        catch (ApiError e) when (sse.Started)
        {
            await sse.ErrorAsync(e, ct);
        }
        await sse.StartAsync();
        await sse.DoneAsync(ct);
    }

    static string EchoText(PromptInput p) => p.Text ?? "";

    static CompletionChoice Choice(int index, string text, CompletionOutput c, CompletionLogprobs? logprobs) => new()
    {
        Index = index,
        Text = text,
        Logprobs = logprobs,
        FinishReason = c.FinishReason,
        StopReason = StopReason.Of(c.StopReason),
    };

    /// <summary>OpenAI's completions logprobs: tokens, token_logprobs, top_logprobs, text_offset.</summary>
    static CompletionLogprobs Logprobs(RequestOutput o, CompletionOutput c, TokenText tokens, bool echo)
    {
        var entries = new List<(int Id, float? Lp, (int, float)[] Top)>();
        if (echo && o.PromptLogprobs != null)
        {
            entries.Add((o.PromptTokenIds[0], null, []));
            entries.AddRange(o.PromptLogprobs.Select(l => (l.TokenId, (float?)l.Logprob, l.Top)));
        }
        if (c.Logprobs != null) entries.AddRange(c.Logprobs.Select(l => (l.TokenId, (float?)l.Logprob, WithChosen(l))));
        var texts = entries.Select(e => tokens.Of(e.Id)).ToList();
        var offsets = new List<int>();
        int offset = 0;
        foreach (var t in texts) { offsets.Add(offset); offset += t.Length; }
        return new CompletionLogprobs
        {
            Tokens = texts,
            TokenLogprobs = entries.Select(e => e.Lp).ToList(),
            TopLogprobs = entries.Select(e => e.Lp == null ? null : new TopLogprobs(e.Top.Select(t => (tokens.Of(t.Item1), t.Item2)).ToList())).ToList(),
            TextOffset = offsets,
        };
    }

    /// <summary>The top-k plus the chosen token, as vLLM reports them.</summary>
    static (int, float)[] WithChosen(TokenLogprobs l) =>
        l.Top.Any(t => t.TokenId == l.TokenId) ? l.Top : [.. l.Top, (l.TokenId, l.Logprob)];
}
