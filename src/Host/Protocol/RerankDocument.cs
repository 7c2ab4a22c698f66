using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>A rerank document: a string or an object with a "text" string (Cohere's form); writes back in the form it was read.</summary>
[JsonConverter(typeof(RerankDocumentConverter))]
public sealed record RerankDocument(string Text, bool WasObject = false);

public sealed class RerankDocumentConverter : JsonConverter<RerankDocument>
{
    public override RerankDocument Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new(reader.GetString()!);
        using var doc = JsonDocument.ParseValue(ref reader);
        var e = doc.RootElement;
        return e.ValueKind == JsonValueKind.Object && e.TryGetProperty("text", out var t) && t.ValueKind == JsonValueKind.String
            ? new(t.GetString()!, true)
            : throw new ProtocolValueException("must be a string or an object with a \"text\" string");
    }

    public override void Write(Utf8JsonWriter writer, RerankDocument value, JsonSerializerOptions options)
    {
        if (!value.WasObject) { writer.WriteStringValue(value.Text); return; }
        writer.WriteStartObject();
        writer.WriteString("text", value.Text);
        writer.WriteEndObject();
    }
}
