using System.Text.Json;
using System.Text.RegularExpressions;
using Pipeline.Actors.Engine;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;
using Pipeline.Models.Sampling;
using Pipeline.Streams.Queue;

namespace Pipeline.Host.Queue;

/// <summary>
/// Reads a request message (docs/queue.md): the body of /v1/completions (`prompt`: one string or one list of token
/// ids) or of /v1/chat/completions (`messages`), read into the same protocol types with the same rules, plus the
/// <see cref="QueueEnvelope"/> fields.
/// </summary>
public static partial class QueueRequestParser
{
    [GeneratedRegex("^[A-Za-z0-9_.:-]{1,200}$")]
    private static partial Regex RequestIdPattern();

    public static bool IsValidRequestId(string id) => RequestIdPattern().IsMatch(id);

    public static QueueRequest Parse(QueueMessage message, ServerContext server)
    {
        JsonElement root;
        try
        {
            JsonTextCheck.Check(message.Body.Span, new JsonReaderOptions { MaxDepth = Json.ReadOptions.MaxDepth, CommentHandling = Json.ReadOptions.CommentHandling, AllowTrailingCommas = Json.ReadOptions.AllowTrailingCommas });
            using var doc = JsonDocument.Parse(message.Body, Json.ReadOptions);
            root = doc.RootElement.Clone();
        }
        catch (JsonException e) { throw new PoisonMessageException($"invalid JSON: {e.Message}"); }
        catch (ApiError e) { throw new PoisonMessageException($"{e.Message} (field {e.Param})"); }

        string? id = null;
        try
        {
            var envelope = RequestReader.Deserialize<QueueEnvelope>(root);
            id = envelope.RequestId ?? message.Properties.MessageId;
            if (id == null) throw ApiError.BadRequest("request_id is required", "request_id");
            if (!IsValidRequestId(id))
            {
                var shown = id;
                id = null;
                throw ApiError.BadRequest($"request_id must be 1-200 characters of A-Z a-z 0-9 _ . : - (it is the routing key of its events), got '{Truncate(shown)}'", "request_id");
            }
            return Build(root, envelope, id, message.Properties, server);
        }
        catch (ApiError e) { throw new PoisonMessageException(e.Param == null ? e.Message : $"{e.Message} (field {e.Param})", id); }
    }

    /// <summary>
    /// The body as a chat request (it has `messages`), a completion request (it has `prompt`), or a transcription or
    /// translation (it has `file`: the audio), read as HTTP reads them.
    /// </summary>
    static QueueRequest Build(JsonElement root, QueueEnvelope envelope, string id, QueueProperties props, ServerContext server)
    {
        bool chat = Present(root, "messages"), audio = Present(root, "file");
        if ((chat ? 1 : 0) + (audio ? 1 : 0) + (Present(root, "prompt") ? 1 : 0) != 1)
            throw ApiError.BadRequest("give exactly one of prompt, messages and file (audio to transcribe)", "prompt");
        if (audio) return BuildSpeech(root, envelope, id, props, server);
        if (root.TryGetProperty("logprobs", out var lp) && lp.ValueKind is not (JsonValueKind.False or JsonValueKind.Null))
            throw ApiError.BadRequest("logprobs are not supported on the queue path", "logprobs");
        GenerationRequest request = chat
            ? server.Requests.Read<ChatCompletionRequest>(root, id, QueueEnvelope.FieldNames)
            : server.Requests.Read<CompletionRequest>(root, id, QueueEnvelope.FieldNames);
        var lora = server.ResolveModel(request.Model);
        PromptInput prompt;
        ChatParsing? parsing = null;
        if (request is ChatCompletionRequest c)
        {
            (prompt, var rendered) = PromptInputs.Rendered(c, server);
            parsing = ChatParsing.For(c, server.ChatParsing, rendered);
        }
        else
        {
            var prompts = PromptInputs.Of((CompletionRequest)request);
            if (prompts.Count != 1) throw ApiError.BadRequest("a queue request carries one prompt (a string or a list of token ids)", "prompt");
            prompt = prompts[0];
        }
        var sp = request.ToSamplingParams(server, prompt.TokenIds?.Count ?? 0) with { OutputKind = RequestOutputKind.Delta };
        if (parsing != null) sp = parsing.Adjust(sp, request.SkipSpecialTokens != null, ChatParsing.Encoder(server));
        return new QueueRequest(id, prompt, sp, request.Priority ?? 0, props.ReplyTo ?? envelope.ReplyTo, props.CorrelationId ?? envelope.CorrelationId, parsing, lora);
    }

    /// <summary>An audio message: the fields of /v1/audio/transcriptions checked as HTTP checks them, the audio decoded from base64 (its content is decoded when it runs).</summary>
    static QueueRequest BuildSpeech(JsonElement root, QueueEnvelope envelope, string id, QueueProperties props, ServerContext server)
    {
        var request = server.Requests.Read<TranscriptionRequest>(root, id, QueueEnvelope.FieldNames);
        server.CheckModel(request.Model);
        var stt = SpeechServing.Model(server);
        var p = request.ToParams();
        SpeechServing.Validate(stt, p);
        var speech = new QueueSpeech(request.AudioBytes(), p, request.Format);
        return new QueueRequest(id, PromptInput.FromIds([]), new SamplingParams(), request.Priority ?? 0, props.ReplyTo ?? envelope.ReplyTo,
            props.CorrelationId ?? envelope.CorrelationId, Speech: speech);
    }

    static bool Present(JsonElement root, string name) => root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    static string Truncate(string s) => s.Length <= 60 ? s : s[..60] + "...";
}
