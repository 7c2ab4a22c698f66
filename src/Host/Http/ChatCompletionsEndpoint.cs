using Pipeline.Actors.Engine;
using Pipeline.Actors.Output;
using Pipeline.Models.Runner;
using Pipeline.Host.Protocol;
using Pipeline.Models.Sampling;

namespace Pipeline.Host.Http;

/// <summary>
/// POST /v1/chat/completions: messages rendered with the model's chat template, then generated; the output read by
/// the request's reasoning and tool parsers (<see cref="ChatParsing"/>) into reasoning, content and tool calls.
/// </summary>
public static class ChatCompletionsEndpoint
{
    public static async Task Handle(HttpContext http, ServerContext server, ChatCompletionRequest req)
    {
        var lora = server.ResolveModel(req.Model);
        var (prompt, rendered) = PromptInputs.Rendered(req, server);
        var ids = prompt.TokenIds!;
        var parsing = ChatParsing.For(req, server.ChatParsing, rendered);

        bool stream = req.IsStream;
        bool wantLogprobs = req.WantsLogprobs;
        var sp = parsing.Adjust(req.ToSamplingParams(server, ids.Count) with
        {
            Logprobs = wantLogprobs ? req.TopLogprobs ?? 0 : null,
            OutputKind = stream ? RequestOutputKind.Delta : RequestOutputKind.FinalOnly,
        }, req.SkipSpecialTokens != null, ChatParsing.Encoder(server));
        var tokens = new TokenText(server.Model.Tokenizer, req.ReturnTokensAsTokenIds ?? false);
        var (includeUsage, continuous) = req.StreamUsage();
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var id = "chatcmpl-" + baseId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var run = RequestLog.Track(http, new GenerationRun(server, baseId, prompt, sp, req.Priority ?? 0, lora));
        var ct = http.RequestAborted;

        if (!stream)
        {
            RequestOutput? final = null;
            await foreach (var o in run.RunAsync(ct)) final = o;
            await Json.WriteAsync(http.Response, new ChatCompletionResponse
            {
                Id = id, Created = created, Model = lora?.LoraName ?? server.ServedModelName,
                Choices = final!.Outputs.Select(c =>
                {
                    var (reasoning, content, calls) = parsing.NewParser().Parse(c.Text);
                    return new ChatChoice
                    {
                        Index = c.Index,
                        Message = new ChatResponseMessage
                        {
                            Content = content,
                            ReasoningContent = reasoning,
                            ToolCalls = calls.Select(t => new ToolCall(t.Id, new FunctionCall(t.Name, t.Arguments))).ToList(),
                        },
                        Logprobs = Logprobs(c, wantLogprobs, tokens),
                        FinishReason = parsing.FinishReason(c.FinishReason, calls.Count > 0),
                        StopReason = StopReason.Of(c.StopReason),
                    };
                }).ToList(),
                Usage = UsageInfo.Generation(final.PromptTokenIds.Count, final.Outputs.Sum(c => c.TokenIds.Count)),
            }, ProtocolJson.Default.ChatCompletionResponse);
            return;
        }

        ChatCompletionChunk Chunk(IReadOnlyList<ChatChunkChoice> choices, UsageInfo? usage) =>
            new() { Id = id, Created = created, Model = lora?.LoraName ?? server.ServedModelName, Choices = choices, Usage = usage };
        var parsers = new Dictionary<int, ChatOutputParser>();
        var sse = new SseWriter(http.Response);
        try
        {
            for (int i = 0; i < sp.N; i++)
                await sse.WriteAsync(Chunk([new ChatChunkChoice { Index = i, Delta = new ChatDelta { Role = "assistant", Content = "" } }], null), ProtocolJson.Default.ChatCompletionChunk, ct);
            await foreach (var o in run.RunAsync(ct))
            {
                foreach (var c in o.Outputs)
                {
                    if (!parsers.TryGetValue(c.Index, out var parser)) parsers[c.Index] = parser = parsing.NewParser();
                    var usage = continuous ? UsageInfo.Generation(run.PromptTokens, run.CompletionTokens) : null;
                    foreach (var choice in StreamChoices(c, parser, parsing, Logprobs(c, wantLogprobs, tokens)))
                        await sse.WriteAsync(Chunk([choice], usage), ProtocolJson.Default.ChatCompletionChunk, ct);
                }
            }
            if (includeUsage)
                await sse.WriteAsync(Chunk([], UsageInfo.Generation(run.PromptTokens, run.CompletionTokens)), ProtocolJson.Default.ChatCompletionChunk, ct);
        }
        catch (ApiError e) when (sse.Started)
        {
            await sse.ErrorAsync(e, ct);
        }
        await sse.DoneAsync(ct);
    }

    /// <summary>
    /// The chunks one engine output makes: without parsers, its text; with them, the new reasoning, the new content,
    /// and for each call found a chunk with its id, type and name, then one with its arguments (vLLM's shapes). The
    /// output's logprobs go on its first chunk, the finish reason on its last; an output that adds nothing yet is
    /// skipped unless it carries logprobs or the finish.
    /// </summary>
    static IEnumerable<ChatChunkChoice> StreamChoices(CompletionOutput c, ChatOutputParser parser, ChatParsing parsing, ChatLogprobs? logprobs)
    {
        bool finished = c.FinishReason != null;
        if (!parser.IsActive)
        {
            yield return new ChatChunkChoice
            {
                Index = c.Index,
                Delta = new ChatDelta { Content = c.Text.Length > 0 || !finished ? c.Text : null },
                Logprobs = logprobs, FinishReason = c.FinishReason, StopReason = StopReason.Of(c.StopReason),
            };
            yield break;
        }
        var d = parser.Append(c.Text, finished);
        var deltas = new List<ChatDelta>();
        if (d.Reasoning.Length > 0) deltas.Add(new ChatDelta { ReasoningContent = d.Reasoning });
        if (d.Content.Length > 0) deltas.Add(new ChatDelta { Content = d.Content });
        foreach (var call in d.Calls)
        {
            int index = IndexOf(parser.Calls, call);
            deltas.Add(new ChatDelta { ToolCalls = [new DeltaToolCall { Index = index, Id = call.Id, Type = "function", Function = new DeltaFunctionCall { Name = call.Name } }] });
            deltas.Add(new ChatDelta { ToolCalls = [new DeltaToolCall { Index = index, Function = new DeltaFunctionCall { Arguments = call.Arguments } }] });
        }
        if (deltas.Count == 0)
        {
            if (!finished && logprobs == null) yield break;
            deltas.Add(new ChatDelta());
        }
        for (int i = 0; i < deltas.Count; i++)
        {
            bool last = i == deltas.Count - 1;
            yield return new ChatChunkChoice
            {
                Index = c.Index,
                Delta = deltas[i],
                Logprobs = i == 0 ? logprobs : null,
                FinishReason = last ? parsing.FinishReason(c.FinishReason, parser.Calls.Count > 0) : null,
                StopReason = last ? StopReason.Of(c.StopReason) : StopReason.None,
            };
        }
    }

    static int IndexOf(IReadOnlyList<IdentifiedToolCall> calls, IdentifiedToolCall call)
    {
        for (int i = 0; i < calls.Count; i++) if (ReferenceEquals(calls[i], call)) return i;
        return -1;
    }

    static ChatLogprobs? Logprobs(CompletionOutput c, bool want, TokenText tokens) =>
        !want || c.Logprobs == null ? null : new ChatLogprobs(c.Logprobs.Select(l => Token(tokens.Of(l.TokenId), l.Logprob) with
        {
            TopLogprobs = l.Top.Select(t => Token(tokens.Of(t.TokenId), t.Logprob)).ToList(),
        }).ToList());

    static ChatTokenLogprob Token(string token, float logprob) => new()
    {
        Token = token,
        Logprob = Math.Max(logprob, -9999f),
        Bytes = System.Text.Encoding.UTF8.GetBytes(token).Select(b => (int)b).ToArray(),
    };
}
