using System.Text.Json;
using System.Text.Json.Serialization.Metadata;
using System.Text.RegularExpressions;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>
/// Turns a failed read of a protocol type into a 400 that names the field: "top_p must be a number" (param top_p),
/// "messages[2].role must be a string" (param messages). The field's expected form comes from the type's metadata.
/// </summary>
public static partial class FieldErrors
{
    [GeneratedRegex(@"\.([A-Za-z0-9_]+)|\['([^']*)'\]|\[(\d+)\]")]
    private static partial Regex PathSegment();

    public static ApiError From(JsonException e, Type root)
    {
        var segments = PathSegment().Matches(e.Path ?? "").Select(m => m.Groups[3].Success ? $"[{m.Groups[3].Value}]" : m.Groups[1].Success ? m.Groups[1].Value : m.Groups[2].Value).ToList();
        if (segments.Count == 0) return ApiError.BadRequest($"the request body does not match the expected fields: {e.Message}");
        var field = string.Concat(segments.Select((s, i) => i == 0 || s.StartsWith('[') ? s : "." + s));
        var predicate = e is ProtocolValueException p ? p.Predicate : $"must be {Describe(TypeAt(root, segments))}";
        return ApiError.BadRequest($"{field} {predicate}", segments[0]);
    }

    /// <summary>The declared type at a path of property names and [index] steps, or null where the path leaves the known types.</summary>
    static Type? TypeAt(Type root, List<string> segments)
    {
        Type? t = root;
        foreach (var s in segments)
        {
            if (t == null) return null;
            if (s.StartsWith('[')) { t = ElementType(t); continue; }
            if (DictionaryValueType(t) is { } value) { t = value; continue; }
            JsonTypeInfo? info = ProtocolJson.Default.GetTypeInfo(t);
            t = info?.Properties.FirstOrDefault(p => p.Name == s)?.PropertyType;
        }
        return t;
    }

    static Type? ElementType(Type t) =>
        t.IsArray ? t.GetElementType() : t.IsGenericType && t.GetGenericArguments() is [var e] ? e : null;

    static Type? DictionaryValueType(Type t) =>
        t.IsGenericType && t.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? t.GetGenericArguments()[1] : null;

    static string Describe(Type? t)
    {
        if (t == null) return "of another type";
        t = Nullable.GetUnderlyingType(t) ?? t;
        if (t == typeof(string)) return "a string";
        if (t == typeof(bool)) return "a boolean";
        if (t == typeof(float) || t == typeof(double)) return "a number";
        if (t == typeof(int) || t == typeof(long)) return "an integer";
        if (t == typeof(JsonElement)) return "valid JSON";
        if (DictionaryValueType(t) != null || t == typeof(System.Text.Json.Nodes.JsonObject)) return "an object";
        if (t == typeof(int[])) return "a list of integers";
        if (t.IsArray || t == typeof(System.Text.Json.Nodes.JsonArray) || (t.IsGenericType && typeof(System.Collections.IEnumerable).IsAssignableFrom(t))) return "a list";
        return "an object";
    }
}
