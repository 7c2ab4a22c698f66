using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Qwen3-Coder's XML calls (its chat template's format):
/// <c>&lt;tool_call&gt;\n&lt;function=NAME&gt;\n&lt;parameter=KEY&gt;\nVALUE\n&lt;/parameter&gt;\n&lt;/function&gt;\n&lt;/tool_call&gt;</c>.
/// Values are raw text: a parameter the tool's schema types as a string stays text; others are read as JSON when
/// they parse (numbers, booleans, objects, arrays), else kept as text.
/// </summary>
public sealed partial class Qwen3CoderToolParser : ToolParser
{
    [GeneratedRegex(@"^\s*<function=([^>\n]+)>(.*)</function>\s*$", RegexOptions.Singleline)]
    private static partial Regex FunctionPattern();

    [GeneratedRegex(@"<parameter=([^>\n]+)>(.*?)</parameter>", RegexOptions.Singleline)]
    private static partial Regex ParameterPattern();

    public override string Name => "qwen3_coder";

    public override ToolParse Parse(string text, bool final, ToolSet tools) =>
        TaggedBlocks.Parse(text, final, HermesToolParser.Start, HermesToolParser.End, body => Call(body, tools));

    static ParsedToolCall? Call(string body, ToolSet tools)
    {
        var m = FunctionPattern().Match(body);
        if (!m.Success) return null;
        var name = m.Groups[1].Value.Trim();
        if (!tools.Contains(name)) return null;
        var inner = m.Groups[2].Value;
        var args = new StringBuilder("{");
        int consumed = 0, n = 0;
        foreach (Match p in ParameterPattern().Matches(inner))
        {
            if (!string.IsNullOrWhiteSpace(inner[consumed..p.Index])) return null;
            consumed = p.Index + p.Length;
            var key = p.Groups[1].Value.Trim();
            var raw = p.Groups[2].Value;
            if (raw.StartsWith('\n')) raw = raw[1..];
            if (raw.EndsWith('\n')) raw = raw[..^1];
            if (n++ > 0) args.Append(", ");
            args.Append(JsonString(key)).Append(": ").Append(Value(raw, SchemaType(tools, name, key)));
        }
        if (!string.IsNullOrWhiteSpace(inner[consumed..])) return null;
        return new(name, args.Append('}').ToString());
    }

    static string? SchemaType(ToolSet tools, string function, string key) =>
        tools.Parameters(function)?["properties"]?[key]?["type"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<string>(out var t) ? t : null;

    static string Value(string raw, string? type)
    {
        if (type != "string" && JsonText.TryParse(raw, out var v)) return v.GetRawText();
        return JsonString(raw);
    }

    static string JsonString(string v)
    {
        using var ms = new MemoryStream();
        using (var w = new Utf8JsonWriter(ms, new JsonWriterOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping })) w.WriteStringValue(v);
        return Encoding.UTF8.GetString(ms.ToArray());
    }
}
