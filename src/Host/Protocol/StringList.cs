using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>A string or a list of strings (`stop`, `bad_words`, score's `text_1`/`text_2`); writes back in the form it was read.</summary>
[JsonConverter(typeof(StringListConverter))]
public sealed record StringList(IReadOnlyList<string> Items, bool WasSingle = false)
{
    public static implicit operator StringList(string s) => new([s], true);
}

public sealed class StringListConverter : JsonConverter<StringList>
{
    const string Forms = "must be a string or a list of strings";

    public override StringList Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options)
    {
        if (reader.TokenType == JsonTokenType.String) return new([reader.GetString()!], true);
        if (reader.TokenType != JsonTokenType.StartArray) throw new ProtocolValueException(Forms);
        var items = new List<string>();
        while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
            items.Add(reader.TokenType == JsonTokenType.String ? reader.GetString()! : throw new ProtocolValueException(Forms));
        return new(items);
    }

    public override void Write(Utf8JsonWriter writer, StringList value, JsonSerializerOptions options)
    {
        if (value.WasSingle && value.Items.Count == 1) { writer.WriteStringValue(value.Items[0]); return; }
        writer.WriteStartArray();
        foreach (var s in value.Items) writer.WriteStringValue(s);
        writer.WriteEndArray();
    }
}
