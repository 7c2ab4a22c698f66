using System.Text.Json;

namespace Pipeline.Host.ToolParsers;

/// <summary>
/// tool_choice "required": the output is a JSON list of {"name", "parameters"} objects, as the constraint from
/// <see cref="ToolChoiceSchema"/> makes the model write it (vLLM's format). Read as a whole at the end.
/// </summary>
public sealed class RequiredToolChoiceParser : ToolParser
{
    public override string Name => "required";

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        if (!final) return ToolParse.Nothing;
        if (JsonText.TryParse(text, out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0)
        {
            var calls = new List<ParsedToolCall>();
            foreach (var item in list.EnumerateArray())
                if (JsonText.Call(item, tools) is { } call) calls.Add(call);
                else return new(text, []);
            return new("", calls);
        }
        return new(text, []);
    }
}

/// <summary>tool_choice naming a function: the output is that function's arguments object (vLLM's format). Read at the end.</summary>
public sealed class NamedToolChoiceParser(string function) : ToolParser
{
    public override string Name => "named";

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        if (!final) return ToolParse.Nothing;
        return JsonText.TryParse(text, out var args) && args.ValueKind == JsonValueKind.Object
            ? new("", [new ParsedToolCall(function, text.Trim())])
            : new(text, []);
    }
}
