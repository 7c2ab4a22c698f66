using System.Text.Json;
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
        server.CheckModel(req.Model);
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
        bool includeUsage = req.StreamOptions?.IncludeUsage ?? false, continuousUsage = req.StreamOptions?.ContinuousUsageStats ?? false;
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var id = "cmpl-" + baseId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var runs = prompts.Select((p, i) => new GenerationRun(server, prompts.Count == 1 ? baseId : $"{baseId}-{i}", p, sp, priority)).ToList();
        var ct = http.RequestAborted;

        if (!stream)
        {
            var finals = await Task.WhenAll(runs.Select(async r => { RequestOutput? last = null; await foreach (var o in r.RunAsync(ct)) last = o; return last!; }));
            await Json.WriteAsync(http.Response, w =>
            {
                Header(w, id, created, server.ServedModelName);
                w.WriteStartArray("choices");
                for (int p = 0; p < finals.Length; p++)
                    foreach (var c in finals[p].Outputs)
                        Choice(w, p * sp.N + c.Index, echo ? EchoText(prompts[p], finals[p]) + c.Text : c.Text, c,
                            logprobs != null ? Logprobs(finals[p], c, tokens, echo, EchoText(prompts[p], finals[p])) : null);
                w.WriteEndArray();
                Json.Usage(w, finals.Sum(o => o.PromptTokenIds.Count), finals.Sum(o => o.Outputs.Sum(c => c.TokenIds.Count)));
            });
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
                            var text = first && echo ? EchoText(prompts[p], o) + c.Text : c.Text;
                            await sse.WriteAsync(w =>
                            {
                                Header(w, id, created, server.ServedModelName);
                                w.WriteStartArray("choices");
                                Choice(w, p * sp.N + c.Index, text, c, logprobs != null ? Logprobs(o, c, tokens, false, "") : null);
                                w.WriteEndArray();
                                if (continuousUsage) Json.Usage(w, r.PromptTokens, r.CompletionTokens);
                            }, ct);
                        }
                        first = false;
                    }
                    finally { gate.Release(); }
                }
                Interlocked.Add(ref promptTotal, r.PromptTokens);
                Interlocked.Add(ref completionTotal, r.CompletionTokens);
            }));
            if (includeUsage)
                await sse.WriteAsync(w => { Header(w, id, created, server.ServedModelName); w.WriteStartArray("choices"); w.WriteEndArray(); Json.Usage(w, promptTotal, completionTotal); }, ct);
        }
        catch (ApiError e) when (sse.Started)
        {
            await sse.ErrorAsync(e, ct);
        }
        await sse.StartAsync();
        await sse.DoneAsync(ct);
    }

    static string EchoText(PromptInput p, RequestOutput o) => p.Text ?? "";

    static void Header(Utf8JsonWriter w, string id, long created, string model)
    {
        w.WriteString("id", id);
        w.WriteString("object", "text_completion");
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    static void Choice(Utf8JsonWriter w, int index, string text, CompletionOutput c, Action<Utf8JsonWriter>? logprobs)
    {
        w.WriteStartObject();
        w.WriteNumber("index", index);
        w.WriteString("text", text);
        if (logprobs == null) w.WriteNull("logprobs"); else { w.WritePropertyName("logprobs"); logprobs(w); }
        if (c.FinishReason == null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", c.FinishReason == "abort" ? "abort" : c.FinishReason);
        switch (c.StopReason)
        {
            case string s: w.WriteString("stop_reason", s); break;
            case int i: w.WriteNumber("stop_reason", i); break;
            default: w.WriteNull("stop_reason"); break;
        }
        w.WriteEndObject();
    }

    /// <summary>OpenAI's completions logprobs: tokens, token_logprobs, top_logprobs, text_offset.</summary>
    static Action<Utf8JsonWriter> Logprobs(RequestOutput o, CompletionOutput c, TokenText tokens, bool echo, string echoText) => w =>
    {
        var entries = new List<(int Id, float? Lp, (int, float)[] Top)>();
        if (echo && o.PromptLogprobs != null)
        {
            entries.Add((o.PromptTokenIds[0], null, []));
            entries.AddRange(o.PromptLogprobs.Select(l => (l.TokenId, (float?)l.Logprob, l.Top)));
        }
        if (c.Logprobs != null) entries.AddRange(c.Logprobs.Select(l => (l.TokenId, (float?)l.Logprob, WithChosen(l))));
        w.WriteStartObject();
        w.WriteStartArray("tokens"); foreach (var e in entries) w.WriteStringValue(tokens.Of(e.Id)); w.WriteEndArray();
        w.WriteStartArray("token_logprobs"); foreach (var e in entries) { if (e.Lp is float lp) w.WriteNumberValue(lp); else w.WriteNullValue(); } w.WriteEndArray();
        w.WriteStartArray("top_logprobs");
        foreach (var e in entries)
        {
            if (e.Lp == null) { w.WriteNullValue(); continue; }
            w.WriteStartObject();
            foreach (var (tid, lp) in e.Top) w.WriteNumber(tokens.Of(tid), lp);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteStartArray("text_offset");
        int offset = 0;
        foreach (var e in entries) { w.WriteNumberValue(offset); offset += tokens.Of(e.Id).Length; }
        w.WriteEndArray();
        w.WriteEndObject();
    };

    /// <summary>The top-k plus the chosen token, as vLLM reports them.</summary>
    static (int, float)[] WithChosen(TokenLogprobs l) =>
        l.Top.Any(t => t.TokenId == l.TokenId) ? l.Top : [.. l.Top, (l.TokenId, l.Logprob)];
}
