using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Actors.Engine;
using Pipeline.Host.Http;
using Pipeline.Models.Sampling;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Queue;

/// <summary>
/// Reads a request message (docs/queue.md): the body of /v1/completions (`prompt`: one string or one list of token
/// ids) or of /v1/chat/completions (`messages`), with the same sampling fields, parsed by the same code, plus
/// `request_id` and optional `reply_to` / `correlation_id` (the AMQP properties of those names take precedence).
/// </summary>
public static partial class QueueRequestParser
{
    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,200}$")]
    private static partial Regex RequestIdPattern();

    public static bool IsValidRequestId(string id) => RequestIdPattern().IsMatch(id);

    public static QueueRequest Parse(QueueMessage message, ServerContext server)
    {
        JsonFields f;
        try
        {
            using var doc = JsonDocument.Parse(message.Body, Json.ReadOptions);
            f = new JsonFields(doc.RootElement.Clone());
        }
        catch (JsonException e) { throw new PoisonMessageException($"invalid JSON: {e.Message}"); }
        catch (ApiError e) { throw new PoisonMessageException(e.Message); }

        string? id = null;
        try
        {
            id = f.String("request_id") ?? message.Properties.MessageId;
            if (id == null) throw ApiError.BadRequest("request_id is required", "request_id");
            if (!IsValidRequestId(id))
            {
                var shown = id;
                id = null;
                throw ApiError.BadRequest($"request_id must be 1-200 characters of A-Z a-z 0-9 _ . : - (it is the routing key of its events), got '{Truncate(shown)}'", "request_id");
            }
            return Build(f, id, message.Properties, server);
        }
        catch (ApiError e) { throw new PoisonMessageException(e.Param == null ? e.Message : $"{e.Message} (field {e.Param})", id); }
    }

    static QueueRequest Build(JsonFields f, string id, QueueProperties props, ServerContext server)
    {
        server.CheckModel(f.String("model"));
        bool chat = f.Has("messages");
        if (chat == f.Has("prompt")) throw ApiError.BadRequest("give exactly one of prompt and messages", chat ? "prompt" : "prompt");
        if (f.Has("logprobs") && f.Get("logprobs") is { ValueKind: not JsonValueKind.False }) throw ApiError.BadRequest("logprobs are not supported on the queue path", "logprobs");
        PromptInput prompt;
        if (chat) prompt = PromptInput.FromIds(ChatCompletionsEndpoint.PromptIds(server, f));
        else
        {
            var prompts = CompletionsEndpoint.ParsePrompts(f);
            if (prompts.Count != 1) throw ApiError.BadRequest("a queue request carries one prompt (a string or a list of token ids)", "prompt");
            prompt = prompts[0];
        }
        var defaults = server.Model.UseGenerationConfig ? server.Model.GenerationConfig.DefaultSamplingParams(new SamplingParams()) : new SamplingParams();
        var sp = SamplingParamsParser.Parse(f, defaults, chat ? f.Int("max_completion_tokens") : null) with { OutputKind = RequestOutputKind.Delta };
        if (sp.MaxTokens == null)
            sp = sp with { MaxTokens = chat ? Math.Max(1, server.Model.MaxModelLen - (prompt.TokenIds?.Count ?? 0)) : 16 };
        return new QueueRequest(id, prompt, sp, f.Int("priority") ?? 0,
            props.ReplyTo ?? f.String("reply_to"), props.CorrelationId ?? f.String("correlation_id"));
    }

    static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
