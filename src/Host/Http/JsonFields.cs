using System.Text.Json;

namespace Pipeline.Host.Http;

/// <summary>Typed, validated access to a request body's fields; every failure is a 400 naming the field.</summary>
public sealed class JsonFields(JsonElement root)
{
    public JsonElement Root { get; } = root.ValueKind == JsonValueKind.Object ? root : throw ApiError.BadRequest("the request body must be a JSON object");

    public bool Has(string name) => Root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null;

    public JsonElement? Get(string name) => Root.TryGetProperty(name, out var v) && v.ValueKind != JsonValueKind.Null ? v : null;

    public string? String(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind == JsonValueKind.String ? v.GetString() : throw ApiError.BadRequest($"{name} must be a string", name);
    }

    public bool? Bool(string name)
    {
        if (Get(name) is not { } v) return null;
        return v.ValueKind switch { JsonValueKind.True => true, JsonValueKind.False => false, _ => throw ApiError.BadRequest($"{name} must be a boolean", name) };
    }

    public double? Number(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetDouble(out var d) || !double.IsFinite(d)) throw ApiError.BadRequest($"{name} must be a number", name);
        return d;
    }

    public float? Float(string name) => Number(name) is double d ? (d is > float.MaxValue or < float.MinValue ? throw ApiError.BadRequest($"{name} is out of range", name) : (float)d) : null;

    public long? Long(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Number || !v.TryGetInt64(out var l)) throw ApiError.BadRequest($"{name} must be an integer", name);
        return l;
    }

    public int? Int(string name)
    {
        var l = Long(name);
        if (l is null) return null;
        return l is > int.MaxValue or < int.MinValue ? throw ApiError.BadRequest($"{name} is out of range: {l}", name) : (int)l;
    }

    public int[]? IntArray(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest($"{name} must be a list of integers", name);
        return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.Number && e.TryGetInt32(out var i) ? i : throw ApiError.BadRequest($"{name} must be a list of integers", name)).ToArray();
    }

    /// <summary>A string or a list of strings (OpenAI's `stop`).</summary>
    public string[]? Strings(string name)
    {
        if (Get(name) is not { } v) return null;
        if (v.ValueKind == JsonValueKind.String) return [v.GetString()!];
        if (v.ValueKind != JsonValueKind.Array) throw ApiError.BadRequest($"{name} must be a string or a list of strings", name);
        return v.EnumerateArray().Select(e => e.ValueKind == JsonValueKind.String ? e.GetString()! : throw ApiError.BadRequest($"{name} must be a string or a list of strings", name)).ToArray();
    }
}
