using System.Text;
using System.Text.Json;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>
/// Checks a JSON body before it is read into protocol types: every string and property name must be valid Unicode. A
/// reader accepts raw bytes that are not UTF-8 (overlong forms, encoded surrogates, stray continuation bytes) and \u
/// escapes of lone surrogates, and only throws when the string is decoded, deep inside a handler, where it would be a
/// 500. Here it is a 400 naming the field. Other syntax errors are the reader's: they pass through as JsonException.
/// </summary>
public static class JsonTextCheck
{
    public static void Check(ReadOnlySpan<byte> json, JsonReaderOptions options)
    {
        var reader = new Utf8JsonReader(json, options);
        string? topField = null;
        try
        {
            while (reader.Read())
            {
                if (reader.TokenType == JsonTokenType.PropertyName)
                {
                    var name = Decode(ref reader, topField, json);
                    if (reader.CurrentDepth == 1) topField = name;
                }
                else if (reader.TokenType == JsonTokenType.String) Decode(ref reader, topField, json);
            }
        }
        catch (JsonException) { } // a syntax error: the reader proper reports it with its position
    }

    static string Decode(ref Utf8JsonReader reader, string? field, ReadOnlySpan<byte> json)
    {
        try { return reader.GetString()!; }
        catch (InvalidOperationException e)
        {
            long at = reader.TokenStartIndex;
            var where = field == null ? "" : $" in field {field}";
            var what = e.Message.Contains("UTF-8", StringComparison.Ordinal)
                ? "a string that is not valid UTF-8"
                : "a string with an invalid \\u escape (a lone or reversed surrogate)";
            throw new ApiError(400, $"invalid Unicode{where}: {what} at byte {at}", field ?? "body");
        }
    }
}
