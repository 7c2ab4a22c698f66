namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Hermes-style calls, as Qwen2.5 and Qwen3 write them:
/// <c>&lt;tool_call&gt;\n{"name": "f", "arguments": {...}}\n&lt;/tool_call&gt;</c>, one block per call.
/// </summary>
public sealed class HermesToolParser : ToolParser
{
    public const string Start = "<tool_call>", End = "</tool_call>";

    public override string Name => "hermes";

    public override ToolParse Parse(string text, bool final, ToolSet tools) =>
        TaggedBlocks.Parse(text, final, Start, End, body =>
            JsonText.TryParse(body, out var obj) ? JsonText.Call(obj, tools) : null);
}
