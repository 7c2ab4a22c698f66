using System.Text.Json;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.Runner;
using Pipeline.Host.Protocol;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>POST /v1/chat/completions: messages rendered with the model's chat template, then generated.</summary>
public static class ChatCompletionsEndpoint
{
    public static async Task Handle(HttpContext http, ServerContext server, ChatCompletionRequest req)
    {
        server.CheckModel(req.Model);
        var ids = PromptInputs.Of(req, server);

        bool stream = req.IsStream;
        bool wantLogprobs = req.WantsLogprobs;
        var sp = req.ToSamplingParams(server, ids.Length) with
        {
            Logprobs = wantLogprobs ? req.TopLogprobs ?? 0 : null,
            OutputKind = stream ? RequestOutputKind.Delta : RequestOutputKind.FinalOnly,
        };
        var tokens = new TokenText(server.Model.Tokenizer, req.ReturnTokensAsTokenIds ?? false);
        bool includeUsage = req.StreamOptions?.IncludeUsage ?? false, continuous = req.StreamOptions?.ContinuousUsageStats ?? false;
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var id = "chatcmpl-" + baseId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var run = new GenerationRun(server, baseId, PromptInput.FromIds(ids), sp, req.Priority ?? 0);
        var ct = http.RequestAborted;

        if (!stream)
        {
            RequestOutput? final = null;
            await foreach (var o in run.RunAsync(ct)) final = o;
            await Json.WriteAsync(http.Response, w =>
            {
                Header(w, id, created, server.ServedModelName, "chat.completion");
                w.WriteStartArray("choices");
                foreach (var c in final!.Outputs)
                {
                    w.WriteStartObject();
                    w.WriteNumber("index", c.Index);
                    w.WriteStartObject("message");
                    w.WriteString("role", "assistant");
                    w.WriteString("content", c.Text);
                    w.WriteEndObject();
                    WriteLogprobs(w, c, wantLogprobs, tokens);
                    w.WriteString("finish_reason", c.FinishReason);
                    WriteStopReason(w, c);
                    w.WriteEndObject();
                }
                w.WriteEndArray();
                Json.Usage(w, final.PromptTokenIds.Count, final.Outputs.Sum(c => c.TokenIds.Count));
            });
            return;
        }

        var sse = new SseWriter(http.Response);
        var roleSent = new HashSet<int>();
        try
        {
            for (int i = 0; i < sp.N; i++)
            {
                int index = i;
                await sse.WriteAsync(w =>
                {
                    Header(w, id, created, server.ServedModelName, "chat.completion.chunk");
                    w.WriteStartArray("choices");
                    w.WriteStartObject();
                    w.WriteNumber("index", index);
                    w.WriteStartObject("delta"); w.WriteString("role", "assistant"); w.WriteString("content", ""); w.WriteEndObject();
                    w.WriteNull("logprobs");
                    w.WriteNull("finish_reason");
                    w.WriteEndObject();
                    w.WriteEndArray();
                }, ct);
            }
            await foreach (var o in run.RunAsync(ct))
            {
                foreach (var c in o.Outputs)
                {
                    await sse.WriteAsync(w =>
                    {
                        Header(w, id, created, server.ServedModelName, "chat.completion.chunk");
                        w.WriteStartArray("choices");
                        w.WriteStartObject();
                        w.WriteNumber("index", c.Index);
                        w.WriteStartObject("delta");
                        if (c.Text.Length > 0 || c.FinishReason == null) w.WriteString("content", c.Text);
                        w.WriteEndObject();
                        WriteLogprobs(w, c, wantLogprobs, tokens);
                        if (c.FinishReason == null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", c.FinishReason);
                        WriteStopReason(w, c);
                        w.WriteEndObject();
                        w.WriteEndArray();
                        if (continuous) Json.Usage(w, run.PromptTokens, run.CompletionTokens);
                    }, ct);
                }
            }
            if (includeUsage)
                await sse.WriteAsync(w => { Header(w, id, created, server.ServedModelName, "chat.completion.chunk"); w.WriteStartArray("choices"); w.WriteEndArray(); Json.Usage(w, run.PromptTokens, run.CompletionTokens); }, ct);
        }
        catch (ApiError e) when (sse.Started)
        {
            await sse.ErrorAsync(e, ct);
        }
        await sse.DoneAsync(ct);
    }

    static void Header(Utf8JsonWriter w, string id, long created, string model, string obj)
    {
        w.WriteString("id", id);
        w.WriteString("object", obj);
        w.WriteNumber("created", created);
        w.WriteString("model", model);
    }

    static void WriteStopReason(Utf8JsonWriter w, CompletionOutput c)
    {
        switch (c.StopReason)
        {
            case string s: w.WriteString("stop_reason", s); break;
            case int i: w.WriteNumber("stop_reason", i); break;
            default: w.WriteNull("stop_reason"); break;
        }
    }

    /// <summary>Chat logprobs: {"content": [{"token","logprob","bytes","top_logprobs":[...]}]}.</summary>
    static void WriteLogprobs(Utf8JsonWriter w, CompletionOutput c, bool want, TokenText tokens)
    {
        if (!want || c.Logprobs == null) { w.WriteNull("logprobs"); return; }
        w.WriteStartObject("logprobs");
        w.WriteStartArray("content");
        foreach (var l in c.Logprobs)
        {
            w.WriteStartObject();
            Token(w, tokens.Of(l.TokenId), l.Logprob);
            w.WriteStartArray("top_logprobs");
            foreach (var (id, lp) in l.Top) { w.WriteStartObject(); Token(w, tokens.Of(id), lp); w.WriteEndObject(); }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WriteEndObject();
    }

    static void Token(Utf8JsonWriter w, string token, float logprob)
    {
        w.WriteString("token", token);
        w.WriteNumber("logprob", Math.Max(logprob, -9999f));
        w.WriteStartArray("bytes");
        foreach (var b in System.Text.Encoding.UTF8.GetBytes(token)) w.WriteNumberValue(b);
        w.WriteEndArray();
    }
}
