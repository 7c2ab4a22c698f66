using System.Text.Json;
using Pipeline.Host.Http;

namespace Pipeline.Host.ToolParsers;

public enum ToolChoiceMode { None, Auto, Required, Named }

/// <summary>
/// OpenAI's tool_choice: "none", "auto", "required" or {"type": "function", "function": {"name": ...}}. Without it,
/// a request with tools is "auto" and one without is "none", as in vLLM.
/// </summary>
public sealed record ToolChoice(ToolChoiceMode Mode, string? FunctionName = null)
{
    public static ToolChoice From(JsonElement? value, ToolSet tools)
    {
        if (value is not { } v || v.ValueKind == JsonValueKind.Null)
            return new(tools.Count > 0 ? ToolChoiceMode.Auto : ToolChoiceMode.None);
        ToolChoice choice;
        if (v.ValueKind == JsonValueKind.String)
        {
            choice = v.GetString() switch
            {
                "none" => new(ToolChoiceMode.None),
                "auto" => new(ToolChoiceMode.Auto),
                "required" => new(ToolChoiceMode.Required),
                var s => throw ApiError.BadRequest($"tool_choice must be \"none\", \"auto\", \"required\" or a function object, got \"{s}\"", "tool_choice"),
            };
        }
        else if (v.ValueKind == JsonValueKind.Object)
        {
            if (!v.TryGetProperty("type", out var type) || type.ValueKind != JsonValueKind.String || type.GetString() != "function")
                throw ApiError.BadRequest("tool_choice as an object must be {\"type\": \"function\", \"function\": {\"name\": ...}}", "tool_choice");
            if (!v.TryGetProperty("function", out var fn) || fn.ValueKind != JsonValueKind.Object
                || !fn.TryGetProperty("name", out var name) || name.ValueKind != JsonValueKind.String)
                throw ApiError.BadRequest("tool_choice.function.name must be a string", "tool_choice");
            choice = new(ToolChoiceMode.Named, name.GetString());
        }
        else throw ApiError.BadRequest("tool_choice must be \"none\", \"auto\", \"required\" or a function object", "tool_choice");

        if (choice.Mode is ToolChoiceMode.Required or ToolChoiceMode.Named && tools.Count == 0)
            throw ApiError.BadRequest($"tool_choice {(choice.Mode == ToolChoiceMode.Named ? "naming a function" : "\"required\"")} needs tools", "tool_choice");
        if (choice.Mode == ToolChoiceMode.Named && !tools.Contains(choice.FunctionName!))
            throw ApiError.BadRequest($"tool_choice names function '{choice.FunctionName}', which is not among the tools ({string.Join(", ", tools.Names)})", "tool_choice");
        return choice;
    }
}
