using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>
/// A chat message's content: a string, a list of text parts, or an explicit null (an assistant turn with tool calls).
/// Only text parts are read for now; multimodal parts come with the Preprocess stage.
/// </summary>
[JsonConverter(typeof(MessageContentConverter))]
public sealed record MessageContent(string? Text, IReadOnlyList<string>? Parts)
{
    /// <summary>The text the chat template sees: the string, or the parts joined with newlines (as vLLM's string format does).</summary>
    public string? Joined => Text ?? (Parts == null ? null : string.Join("\n", Parts));
}

public sealed class MessageContentConverter : JsonConverter<MessageContent>
{
    const string Forms = "must be a string or a list of text parts (multimodal input comes later)";

    public override bool HandleNull => true;

    public override MessageContent Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        switch (reader.TokenType)
        {
            case JsonTokenType.Null: return new(null, null);
            case JsonTokenType.String: return new(reader.GetString(), null);
            case JsonTokenType.StartArray:
                using (var doc = JsonDocument.ParseValue(ref reader))
                    return new(null, doc.RootElement.EnumerateArray().Select(Text).ToList());
            default: throw new ProtocolValueException(Forms);
        }
    }

    static string Text(JsonElement part) =>
        part.ValueKind == JsonValueKind.Object && part.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "text"
        && part.TryGetProperty("text", out var text) && text.ValueKind == JsonValueKind.String
            ? text.GetString()! : throw new ProtocolValueException(Forms);

    public override void Write(Utf8JsonWriter writer, MessageContent value, JsonSerializerOptions options)
    {
        if (value.Parts == null) { if (value.Text == null) writer.WriteNullValue(); else writer.WriteStringValue(value.Text); return; }
        writer.WriteStartArray();
        foreach (var p in value.Parts) { writer.WriteStartObject(); writer.WriteString("type", "text"); writer.WriteString("text", p); writer.WriteEndObject(); }
        writer.WriteEndArray();
    }
}
