using System.Text.Json;
using System.Text.Json.Nodes;
using Pipeline.Host.Http;

namespace Pipeline.Host.ToolParsers;

/// <summary>The request's tools, by function name: what a parsed call may name, and each function's parameter schema.</summary>
public sealed class ToolSet
{
    readonly Dictionary<string, JsonNode?> _parameters = new(StringComparer.Ordinal);

    public static ToolSet Empty { get; } = new();

    public IReadOnlyCollection<string> Names => _parameters.Keys;
    public int Count => _parameters.Count;

    public bool Contains(string name) => _parameters.ContainsKey(name);

    /// <summary>The function's parameters schema as given, or null when it gave none.</summary>
    public JsonNode? Parameters(string name) => _parameters.GetValueOrDefault(name);

    /// <summary>Reads OpenAI's tools: a list of {"type": "function", "function": {"name", "description", "parameters"}}; 400s name the field.</summary>
    public static ToolSet From(JsonArray? tools)
    {
        var set = new ToolSet();
        if (tools == null) return set;
        for (int i = 0; i < tools.Count; i++)
        {
            if (tools[i] is not JsonObject tool) throw Bad(i, "must be an object");
            var type = tool["type"] is JsonValue t && t.TryGetValue<string>(out var s) ? s : null;
            if (type != "function") throw Bad(i, $"type must be \"function\"{(type == null ? "" : $", got \"{type}\"")}");
            if (tool["function"] is not JsonObject fn) throw Bad(i, "needs a function object");
            if (fn["name"] is not JsonValue n || !n.TryGetValue<string>(out var name) || name.Length == 0) throw Bad(i, "function.name must be a non-empty string");
            var parameters = fn["parameters"];
            if (parameters != null && parameters.GetValueKind() != JsonValueKind.Object) throw Bad(i, "function.parameters must be a JSON schema object");
            if (!set._parameters.TryAdd(name, parameters)) throw Bad(i, $"function name '{name}' is given twice");
        }
        return set;
    }

    static ApiError Bad(int i, string what) => ApiError.BadRequest($"tools[{i}] {what}", "tools");

    /// <summary>A set naming only these functions (tests, and parsers used outside a request).</summary>
    public static ToolSet Of(params string[] names)
    {
        var set = new ToolSet();
        foreach (var n in names) set._parameters[n] = null;
        return set;
    }
}
