using System.Text.Json;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>
/// vLLM's stop_reason: the stop string or stop token id that ended a choice, or null. A C# null leaves the field out
/// (chat's first chunk has none); <see cref="None"/> writes JSON null.
/// </summary>
[JsonConverter(typeof(StopReasonConverter))]
public sealed record StopReason(object? Value)
{
    public static readonly StopReason None = new((object?)null);
    public static StopReason Of(object? value) => value == null ? None : new(value);
}

public sealed class StopReasonConverter : JsonConverter<StopReason>
{
    public override StopReason Read(ref Utf8JsonReader reader, Type typeToConvert, JsonSerializerOptions options) => reader.TokenType switch
    {
        JsonTokenType.String => new(reader.GetString()),
        JsonTokenType.Number => new(reader.GetInt32()),
        _ => StopReason.None,
    };

    public override void Write(Utf8JsonWriter writer, StopReason value, JsonSerializerOptions options)
    {
        switch (value.Value)
        {
            case string s: writer.WriteStringValue(s); break;
            case int i: writer.WriteNumberValue(i); break;
            default: writer.WriteNullValue(); break;
        }
    }
}
