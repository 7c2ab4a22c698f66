namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Mistral calls after the [TOOL_CALLS] control token, in either of its tokenizers' formats:
/// a JSON list <c>[TOOL_CALLS] [{"name": "f", "arguments": {...}}]</c> (v3 tokenizers), or
/// <c>[TOOL_CALLS]f[ARGS]{...}</c> per call (v11 and later, optionally with [CALL_ID]id before [ARGS]).
/// Text before the first [TOOL_CALLS] is content; the calls after it are read as a whole at the end.
/// </summary>
public sealed class MistralToolParser : ToolParser
{
    public const string BotToken = "[TOOL_CALLS]", ArgsToken = "[ARGS]", CallIdToken = "[CALL_ID]";

    public override string Name => "mistral";
    public override bool KeepsSpecialTokens => true;
    public override string NewCallId() => ToolCallIds.Alphanumeric9();

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        var b = new ParseBuilder();
        int bot = text.IndexOf(BotToken, StringComparison.Ordinal);
        if (bot < 0)
        {
            b.Text(final ? text : text[..^ParseBuilder.MarkerPrefixAtEnd(text, BotToken)]);
            return b.Build(final);
        }
        b.Text(text[..bot]);
        if (!final) return b.Build(false);
        if (Calls(text, bot, tools) is { } calls) foreach (var c in calls) b.Call(c);
        else b.Text(text[bot..]);
        return b.Build(true);
    }

    static List<ParsedToolCall>? Calls(string text, int i, ToolSet tools)
    {
        var calls = new List<ParsedToolCall>();
        while (true)
        {
            i = JsonText.SkipWhitespace(text, i);
            if (i >= text.Length) return calls.Count > 0 ? calls : null;
            if (string.CompareOrdinal(text, i, BotToken, 0, BotToken.Length) != 0) return null;
            i = JsonText.SkipWhitespace(text, i + BotToken.Length);
            if (i < text.Length && text[i] is '[' or '{')
            {
                int end = JsonText.ValueEnd(text, i);
                if (end < 0 || !JsonText.TryParse(text[i..end], out var value)) return null;
                var items = value.ValueKind == System.Text.Json.JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
                if (items.Count == 0) return null;
                foreach (var item in items)
                {
                    if (JsonText.Call(item, tools) is not { } call) return null;
                    calls.Add(call);
                }
                i = end;
                continue;
            }
            int args = text.IndexOf(ArgsToken, i, StringComparison.Ordinal);
            if (args < 0) return null;
            int nameEnd = text.IndexOf(CallIdToken, i, args - i, StringComparison.Ordinal);
            var name = text[i..(nameEnd < 0 ? args : nameEnd)].Trim();
            if (!tools.Contains(name)) return null;
            int start = args + ArgsToken.Length;
            int argsEnd = JsonText.ValueEnd(text, start);
            if (argsEnd < 0 || !JsonText.TryParse(text[start..argsEnd], out var argValue) || JsonText.Arguments(argValue) is not { } argText) return null;
            calls.Add(new(name, argText));
            i = argsEnd;
        }
    }
}
