using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>
/// A prompt or pooling input in any of its four forms: a string, a list of strings, a list of token ids, or a list of
/// token-id lists. Each item is either a text or a token list; it writes back in the form it was read.
/// </summary>
[JsonConverter(typeof(TextsOrTokensConverter))]
public sealed record TextsOrTokens
{
    public enum Form { Text, Texts, Tokens, TokenLists }

    public required Form Shape { get; init; }
    /// <summary>The texts (Text, Texts) or null.</summary>
    public IReadOnlyList<string>? Texts { get; init; }
    /// <summary>The token lists (Tokens: one list, TokenLists) or null.</summary>
    public IReadOnlyList<int[]>? TokenLists { get; init; }

    public int Count => Texts?.Count ?? TokenLists!.Count;

    public static TextsOrTokens Text(string text) => new() { Shape = Form.Text, Texts = [text] };
    public static TextsOrTokens Tokens(int[] ids) => new() { Shape = Form.Tokens, TokenLists = [ids] };
}

public sealed class TextsOrTokensConverter : JsonConverter<TextsOrTokens>
{
    const string Forms = "must be a string, a list of strings, a list of token ids, or a list of token-id lists";

    public override TextsOrTokens Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return TextsOrTokens.Text(reader.GetString()!);
        if (reader.TokenType != JsonTokenType.StartArray) throw new ProtocolValueException(Forms);
        using var doc = JsonDocument.ParseValue(ref reader);
        var items = doc.RootElement.EnumerateArray().ToList();
        if (items.Count == 0) throw new ProtocolValueException("must not be empty");
        if (items.All(i => i.ValueKind == JsonValueKind.String))
            return new TextsOrTokens { Shape = TextsOrTokens.Form.Texts, Texts = items.Select(i => i.GetString()!).ToList() };
        if (items.All(i => i.ValueKind == JsonValueKind.Number)) return TextsOrTokens.Tokens(Ids(items));
        if (items.All(i => i.ValueKind == JsonValueKind.Array))
            return new TextsOrTokens
            {
                Shape = TextsOrTokens.Form.TokenLists,
                TokenLists = items.Select(i => Ids(i.EnumerateArray().ToList()) is { Length: > 0 } ids ? ids : throw new ProtocolValueException("token lists must not be empty")).ToList(),
            };
        throw new ProtocolValueException(Forms);
    }

    static int[] Ids(List<JsonElement> items) =>
        items.Select(i => i.ValueKind == JsonValueKind.Number && i.TryGetInt32(out var v) ? v : throw new ProtocolValueException("token ids must be integers")).ToArray();

    public override void Write(Utf8JsonWriter writer, TextsOrTokens value, JsonSerializerOptions options)
    {
        switch (value.Shape)
        {
            case TextsOrTokens.Form.Text: writer.WriteStringValue(value.Texts![0]); break;
            case TextsOrTokens.Form.Texts: writer.WriteStartArray(); foreach (var t in value.Texts!) writer.WriteStringValue(t); writer.WriteEndArray(); break;
            case TextsOrTokens.Form.Tokens: WriteIds(writer, value.TokenLists![0]); break;
            default: writer.WriteStartArray(); foreach (var ids in value.TokenLists!) WriteIds(writer, ids); writer.WriteEndArray(); break;
        }
    }

    static void WriteIds(Utf8JsonWriter writer, int[] ids)
    {
        writer.WriteStartArray();
        foreach (var i in ids) writer.WriteNumberValue(i);
        writer.WriteEndArray();
    }
}
