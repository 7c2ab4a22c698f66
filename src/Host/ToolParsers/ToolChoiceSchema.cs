using System.Text.Json.Nodes;

namespace Pipeline.Host.ToolParsers;

/// <summary>
/// The JSON schema that makes tool_choice "required" or a named function always parse (vLLM builds the same): for a
/// named function, its parameters schema; for "required", a non-empty list of {"name": one tool, "parameters": its
/// schema} (at most one item when parallel_tool_calls is false).
/// </summary>
public static class ToolChoiceSchema
{
    public static string? For(ToolChoice choice, ToolSet tools, bool parallelToolCalls = true)
    {
        switch (choice.Mode)
        {
            case ToolChoiceMode.Named:
                return Parameters(tools, choice.FunctionName!).ToJsonString();
            case ToolChoiceMode.Required:
                var anyOf = new JsonArray();
                foreach (var name in tools.Names)
                    anyOf.Add(new JsonObject
                    {
                        ["type"] = "object",
                        ["properties"] = new JsonObject
                        {
                            ["name"] = new JsonObject { ["type"] = "string", ["enum"] = new JsonArray(name) },
                            ["parameters"] = Parameters(tools, name),
                        },
                        ["required"] = new JsonArray("name", "parameters"),
                    });
                var schema = new JsonObject
                {
                    ["type"] = "array",
                    ["minItems"] = 1,
                    // vLLM also puts "type": "object" beside anyOf; each alternative says it already.
                    ["items"] = new JsonObject { ["anyOf"] = anyOf },
                };
                if (!parallelToolCalls) schema["maxItems"] = 1;
                return schema.ToJsonString();
            default:
                return null;
        }
    }

    static JsonNode Parameters(ToolSet tools, string name) =>
        tools.Parameters(name)?.DeepClone() ?? new JsonObject { ["type"] = "object", ["properties"] = new JsonObject() };
}
