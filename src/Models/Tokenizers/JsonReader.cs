using System.Text.Json;

namespace Pipeline.Models.Tokenizers;

/// <summary>Small typed accessors over tokenizer.json that turn shape errors into <see cref="TokenizerLoadException"/>.</summary>
internal sealed class JsonReader(string file)
{
    public string File { get; } = file;

    public TokenizerLoadException Error(string problem) => new(File, problem);

    public static bool IsNull(JsonElement e) => e.ValueKind is JsonValueKind.Null or JsonValueKind.Undefined;

    public JsonElement? Optional(JsonElement obj, string name)
    {
        if (obj.ValueKind != JsonValueKind.Object) return null;
        return obj.TryGetProperty(name, out var v) && !IsNull(v) ? v : null;
    }

    public JsonElement Required(JsonElement obj, string name, string path)
    {
        if (obj.ValueKind != JsonValueKind.Object)
            throw Error($"\"{path}\" must be an object");
        if (!obj.TryGetProperty(name, out var v) || IsNull(v))
            throw Error($"missing \"{path}.{name}\"");
        return v;
    }

    public string String(JsonElement obj, string name, string path)
    {
        var v = Required(obj, name, path);
        return v.ValueKind == JsonValueKind.String ? v.GetString()! : throw Error($"\"{path}.{name}\" must be a string");
    }

    public string? OptString(JsonElement obj, string name)
    {
        var v = Optional(obj, name);
        return v is { ValueKind: JsonValueKind.String } s ? s.GetString() : null;
    }

    public bool Bool(JsonElement obj, string name, bool fallback)
    {
        var v = Optional(obj, name);
        return v switch
        {
            null => fallback,
            { ValueKind: JsonValueKind.True } => true,
            { ValueKind: JsonValueKind.False } => false,
            _ => throw Error($"\"{name}\" must be a boolean"),
        };
    }

    public int Int(JsonElement obj, string name, int fallback)
    {
        var v = Optional(obj, name);
        if (v is null) return fallback;
        return v.Value.ValueKind == JsonValueKind.Number && v.Value.TryGetInt32(out var i) ? i : throw Error($"\"{name}\" must be an integer");
    }

    public string Type(JsonElement obj, string path)
    {
        if (obj.ValueKind != JsonValueKind.Object) throw Error($"\"{path}\" must be an object");
        return String(obj, "type", path);
    }

    /// <summary>Reads a {"String": "..."} or {"Regex": "..."} pattern as a .NET regex.</summary>
    public System.Text.RegularExpressions.Regex Pattern(JsonElement obj, string path)
    {
        var p = Required(obj, "pattern", path);
        if (p.ValueKind == JsonValueKind.Object)
        {
            if (p.TryGetProperty("String", out var s) && s.ValueKind == JsonValueKind.String)
                return OnigurumaRegex.Literal(s.GetString()!);
            if (p.TryGetProperty("Regex", out var r) && r.ValueKind == JsonValueKind.String)
            {
                try { return OnigurumaRegex.Compile(r.GetString()!); }
                catch (ArgumentException ex) { throw new TokenizerLoadException(File, $"\"{path}.pattern\" regex cannot be translated: {ex.Message}", ex); }
            }
        }
        throw Error($"\"{path}.pattern\" must be {{\"String\": ...}} or {{\"Regex\": ...}}");
    }
}
