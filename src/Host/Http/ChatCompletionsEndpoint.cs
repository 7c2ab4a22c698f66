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
        var (includeUsage, continuous) = req.StreamUsage();
        var baseId = http.Items["request-id"] as string ?? Guid.NewGuid().ToString("N");
        var id = "chatcmpl-" + baseId;
        long created = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var run = RequestLog.Track(http, new GenerationRun(server, baseId, PromptInput.FromIds(ids), sp, req.Priority ?? 0));
        var ct = http.RequestAborted;

        if (!stream)
        {
            RequestOutput? final = null;
            await foreach (var o in run.RunAsync(ct)) final = o;
            await Json.WriteAsync(http.Response, new ChatCompletionResponse
            {
                Id = id, Created = created, Model = server.ServedModelName,
                Choices = final!.Outputs.Select(c => new ChatChoice
                {
                    Index = c.Index,
                    Message = new ChatResponseMessage { Content = c.Text },
                    Logprobs = Logprobs(c, wantLogprobs, tokens),
                    FinishReason = c.FinishReason,
                    StopReason = StopReason.Of(c.StopReason),
                }).ToList(),
                Usage = UsageInfo.Generation(final.PromptTokenIds.Count, final.Outputs.Sum(c => c.TokenIds.Count)),
            }, ProtocolJson.Default.ChatCompletionResponse);
            return;
        }

        ChatCompletionChunk Chunk(IReadOnlyList<ChatChunkChoice> choices, UsageInfo? usage) =>
            new() { Id = id, Created = created, Model = server.ServedModelName, Choices = choices, Usage = usage };
        var sse = new SseWriter(http.Response);
        try
        {
            for (int i = 0; i < sp.N; i++)
                await sse.WriteAsync(Chunk([new ChatChunkChoice { Index = i, Delta = new ChatDelta { Role = "assistant", Content = "" } }], null), ProtocolJson.Default.ChatCompletionChunk, ct);
            await foreach (var o in run.RunAsync(ct))
            {
                foreach (var c in o.Outputs)
                {
                    var choice = new ChatChunkChoice
                    {
                        Index = c.Index,
                        Delta = new ChatDelta { Content = c.Text.Length > 0 || c.FinishReason == null ? c.Text : null },
                        Logprobs = Logprobs(c, wantLogprobs, tokens),
                        FinishReason = c.FinishReason,
                        StopReason = StopReason.Of(c.StopReason),
                    };
                    await sse.WriteAsync(Chunk([choice], continuous ? UsageInfo.Generation(run.PromptTokens, run.CompletionTokens) : null), ProtocolJson.Default.ChatCompletionChunk, ct);
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
