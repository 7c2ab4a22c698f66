using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Runner;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>POST /v1/chat/completions: messages rendered with the model's chat template, then generated.</summary>
public static class ChatCompletionsEndpoint
{
    public static async Task Handle(HttpContext http, ServerContext server, JsonFields f)
    {
        server.CheckModel(f.String("model"));
        var ids = PromptIds(server, f);

        bool stream = f.Bool("stream") ?? false;
        bool wantLogprobs = f.Bool("logprobs") ?? false;
        int? top = f.Int("top_logprobs");
        if (top is < 0 or > 20) throw ApiError.BadRequest($"top_logprobs must be between 0 and 20, got {top}", "top_logprobs");
        if (top != null && !wantLogprobs) throw ApiError.BadRequest("top_logprobs requires logprobs to be true", "top_logprobs");
        var defaults = server.Model.UseGenerationConfig ? server.Model.GenerationConfig.DefaultSamplingParams(new SamplingParams()) : new SamplingParams();
        var sp = SamplingParamsParser.Parse(f, defaults, f.Int("max_completion_tokens")) with
        {
            Logprobs = wantLogprobs ? top ?? 0 : null,
            OutputKind = stream ? RequestOutputKind.Delta : RequestOutputKind.FinalOnly,
        };
        if (sp.MaxTokens == null) sp = sp with { MaxTokens = Math.Max(1, server.Model.MaxModelLen - ids.Length) };
        var tokens = new TokenText(server.Model.Tokenizer, f.Bool("return_tokens_as_token_ids") ?? false);
        var (includeUsage, continuous) = CompletionsEndpoint.StreamOptions(f);
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var id = "chatcmpl-" + baseId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var run = new GenerationRun(server, baseId, PromptInput.FromIds(ids), sp, f.Int("priority") ?? 0);
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

    /// <summary>The messages (with tools, documents, chat_template_kwargs) rendered by the chat template and tokenized; 400s name the field.</summary>
    internal static int[] PromptIds(ServerContext server, JsonFields f)
    {
        if (server.Chat == null) throw ApiError.BadRequest(server.ChatTemplateError ?? "this model has no chat template: start the server with --chat-template", "messages");
        var messages = Messages(f);
        var tools = f.Get("tools") is { } t ? (t.ValueKind == JsonValueKind.Array ? ChatTemplateContext.Nodes(t) : throw ApiError.BadRequest("tools must be a list", "tools")) : null;
        var documents = f.Get("documents") is { } d ? (d.ValueKind == JsonValueKind.Array ? ChatTemplateContext.Nodes(d) : throw ApiError.BadRequest("documents must be a list", "documents")) : null;
        var kwargs = new Dictionary<string, object?>();
        if (f.Get("chat_template_kwargs") is { } k)
        {
            if (k.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest("chat_template_kwargs must be an object", "chat_template_kwargs");
            foreach (var p in k.EnumerateObject()) kwargs[p.Name] = JsonNode.Parse(p.Value.GetRawText());
        }
        bool continueFinal = f.Bool("continue_final_message") ?? false;
        bool addGen = f.Bool("add_generation_prompt") ?? !continueFinal;
        string rendered;
        try { rendered = server.Chat.Render(messages, tools, documents, addGen, continueFinal, kwargs); }
        catch (TemplateException e) { throw ApiError.BadRequest($"chat template error: {e.Message}", "messages"); }
        catch (ArgumentException e) { throw ApiError.BadRequest(e.Message, "messages"); }
        return server.Chat.Tokenize(rendered);
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

    /// <summary>Messages with content as a string or a list of text parts (joined with newlines, as vLLM's string format does).</summary>
    static IReadOnlyList<JsonNode?> Messages(JsonFields f)
    {
        if (f.Get("messages") is not { } m || m.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest("messages is required and must be a list", "messages");
        var list = new List<JsonNode?>();
        int i = 0;
        foreach (var e in m.EnumerateArray())
        {
            if (e.ValueKind != JsonValueKind.Object) throw ApiError.BadRequest($"messages[{i}] must be an object", "messages");
            var node = JsonNode.Parse(e.GetRawText())!.AsObject();
            if (node["role"] is not JsonValue role || role.GetValueKind() != JsonValueKind.String) throw ApiError.BadRequest($"messages[{i}].role must be a string", "messages");
            if (node["content"] is JsonArray parts)
            {
                var texts = new List<string>();
                foreach (var p in parts)
                {
                    if (p is JsonObject po && po["type"]?.GetValue<string>() == "text" && po["text"] is JsonValue tv && tv.GetValueKind() == JsonValueKind.String) texts.Add(tv.GetValue<string>());
                    else throw ApiError.BadRequest($"messages[{i}].content: only text parts are supported (multimodal input comes later)", "messages");
                }
                node["content"] = string.Join("\n", texts);
            }
            else if (node["content"] is JsonNode c && c.GetValueKind() is not (JsonValueKind.String or JsonValueKind.Null))
                throw ApiError.BadRequest($"messages[{i}].content must be a string or a list of text parts", "messages");
            list.Add(node);
            i++;
        }
        if (list.Count == 0) throw ApiError.BadRequest("messages must not be empty", "messages");
        return list;
    }
}
