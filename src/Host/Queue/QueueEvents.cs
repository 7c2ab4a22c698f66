using System.Text.Json;
using Pipeline.Host.Http;
using Pipeline.Host.Protocol;

namespace Pipeline.Host.Queue;

/// <summary>
/// The token events of one request (docs/queue.md), numbered by `seq` from 0 with no gaps: `delta` events (new text
/// and token ids of one choice), then exactly one `final` (full text, finish_reason, usage) or `error`.
/// </summary>
public static class QueueEvents
{
    public const string Delta = "delta", Final = "final", Error = "error";

    /// <param name="Message">A chat request's parsed answer (content, reasoning, tool calls) when it has parsers.</param>
    public sealed record Choice(int Index, string Text, IReadOnlyList<int> TokenIds, string? FinishReason, object? StopReason, ChatResponseMessage? Message = null);

    /// <param name="parsed">What the chat request's parsers made of the new text (reasoning, content, calls), when they ran.</param>
    public static byte[] WriteDelta(string requestId, int seq, int index, string text, IReadOnlyList<int> tokenIds, ChatDelta? parsed = null) => Write(Delta, requestId, seq, w =>
    {
        w.WriteNumber("index", index);
        w.WriteString("text", text);
        Ids(w, "token_ids", tokenIds);
        if (parsed == null) return;
        w.WritePropertyName("delta");
        JsonSerializer.Serialize(w, parsed, ProtocolJson.Default.ChatDelta);
    });

    /// <param name="extra">More fields after `model` (an audio message's task, language, duration and response).</param>
    public static byte[] WriteFinal(string requestId, int seq, string model, IReadOnlyList<Choice> choices, int promptTokens, int completionTokens,
        Action<Utf8JsonWriter>? extra = null) => Write(Final, requestId, seq, w =>
    {
        w.WriteString("model", model);
        extra?.Invoke(w);
        w.WriteStartArray("choices");
        foreach (var c in choices)
        {
            w.WriteStartObject();
            w.WriteNumber("index", c.Index);
            w.WriteString("text", c.Text);
            Ids(w, "token_ids", c.TokenIds);
            if (c.FinishReason == null) w.WriteNull("finish_reason"); else w.WriteString("finish_reason", c.FinishReason);
            w.WritePropertyName("stop_reason");
            JsonSerializer.Serialize(w, StopReason.Of(c.StopReason), ProtocolJson.Default.StopReason);
            if (c.Message != null)
            {
                w.WritePropertyName("message");
                JsonSerializer.Serialize(w, c.Message, ProtocolJson.Default.ChatResponseMessage);
            }
            w.WriteEndObject();
        }
        w.WriteEndArray();
        w.WritePropertyName("usage");
        JsonSerializer.Serialize(w, UsageInfo.Generation(promptTokens, completionTokens), ProtocolJson.Default.UsageInfo);
    });

    public static byte[] WriteError(string requestId, int seq, int status, string message) => Write(Error, requestId, seq, w =>
    {
        w.WritePropertyName("error");
        JsonSerializer.Serialize(w, new StreamErrorInfo(message, status == 400 ? "BadRequestError" : "InternalServerError", status), ProtocolJson.Default.StreamErrorInfo);
    });

    static byte[] Write(string type, string requestId, int seq, Action<Utf8JsonWriter> body)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, Json.WriterOptions))
        {
            w.WriteStartObject();
            w.WriteString("type", type);
            w.WriteString("request_id", requestId);
            w.WriteNumber("seq", seq);
            body(w);
            w.WriteEndObject();
        }
        return ms.ToArray();
    }

    static void Ids(Utf8JsonWriter w, string name, IReadOnlyList<int> ids)
    {
        w.WriteStartArray(name);
        foreach (var id in ids) w.WriteNumberValue(id);
        w.WriteEndArray();
    }
}

/// <summary>One token event as a follower reads it.</summary>
public sealed record QueueEvent(string Type, string RequestId, int Seq, JsonElement Json)
{
    public bool IsTerminal => Type is QueueEvents.Final or QueueEvents.Error;

    public int Index => Json.TryGetProperty("index", out var i) ? i.GetInt32() : 0;
    public string Text => Json.TryGetProperty("text", out var t) ? t.GetString() ?? "" : "";
    public int[] TokenIds => Json.TryGetProperty("token_ids", out var t) ? t.EnumerateArray().Select(e => e.GetInt32()).ToArray() : [];

    public static QueueEvent Parse(ReadOnlySpan<byte> body)
    {
        var root = JsonDocument.Parse(body.ToArray()).RootElement;
        return new QueueEvent(root.GetProperty("type").GetString()!, root.GetProperty("request_id").GetString()!, root.GetProperty("seq").GetInt32(), root);
    }
}
