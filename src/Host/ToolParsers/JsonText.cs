using System.Text.Json;

namespace Pipeline.Host.ToolParsers;

/// <summary>Finding JSON values inside model text, without exceptions.</summary>
static class JsonText
{
    public const int Incomplete = -1, Invalid = -2;

    /// <summary>
    /// Where the JSON value starting at <paramref name="start"/> (after whitespace) ends: the index just past it,
    /// <see cref="Incomplete"/> when the text ends inside it, <see cref="Invalid"/> when no value starts there.
    /// Brackets are matched (strings and escapes respected); whether the value is valid JSON is for <see cref="TryParse"/>.
    /// </summary>
    public static int ValueEnd(string s, int start)
    {
        int i = SkipWhitespace(s, start);
        if (i >= s.Length) return Incomplete;
        char c = s[i];
        if (c == '"') return StringEnd(s, i);
        if (c is '{' or '[')
        {
            int depth = 0;
            for (; i < s.Length; i++)
            {
                char ch = s[i];
                if (ch == '"') { i = StringEnd(s, i); if (i < 0) return Incomplete; i--; continue; }
                if (ch is '{' or '[') depth++;
                else if (ch is '}' or ']' && --depth == 0) return i + 1;
            }
            return Incomplete;
        }
        if (c is '-' or (>= '0' and <= '9') or 't' or 'f' or 'n')
        {
            while (i < s.Length && (char.IsAsciiLetterOrDigit(s[i]) || s[i] is '-' or '+' or '.')) i++;
            return i >= s.Length ? Incomplete : i;
        }
        return Invalid;
    }

    static int StringEnd(string s, int quote)
    {
        for (int i = quote + 1; i < s.Length; i++)
        {
            if (s[i] == '\\') { i++; continue; }
            if (s[i] == '"') return i + 1;
        }
        return Incomplete;
    }

    public static int SkipWhitespace(string s, int i)
    {
        while (i < s.Length && char.IsWhiteSpace(s[i])) i++;
        return i;
    }

    public static bool TryParse(string text, out JsonElement value)
    {
        try
        {
            using var doc = JsonDocument.Parse(text);
            value = doc.RootElement.Clone();
            return true;
        }
        catch (JsonException) { value = default; return false; }
    }

    /// <summary>
    /// A call written as a JSON object {"name": ..., "arguments" (or "parameters"): {...}} naming one of the tools;
    /// null otherwise. Arguments keep the model's own JSON text; arguments given as a string of JSON are that string.
    /// </summary>
    public static ParsedToolCall? Call(JsonElement obj, ToolSet tools)
    {
        if (obj.ValueKind != JsonValueKind.Object) return null;
        if (!obj.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String || !tools.Contains(name.GetString()!)) return null;
        JsonElement args;
        if (!obj.TryGetProperty("arguments", out args) && !obj.TryGetProperty("parameters", out args)) return new(name.GetString()!, "{}");
        var text = Arguments(args);
        return text == null ? null : new(name.GetString()!, text);
    }

    /// <summary>Arguments as JSON text: an object as written, or a string that holds a JSON object; null for anything else.</summary>
    public static string? Arguments(JsonElement args)
    {
        if (args.ValueKind == JsonValueKind.Object) return args.GetRawText();
        if (args.ValueKind == JsonValueKind.String && TryParse(args.GetString()!, out var inner) && inner.ValueKind == JsonValueKind.Object) return args.GetString()!.Trim();
        return null;
    }
}
