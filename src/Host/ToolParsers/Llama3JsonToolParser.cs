namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Llama 3.1/3.2 JSON calls: the whole answer is <c>{"name": "f", "parameters": {...}}</c> (several joined by "; "),
/// optionally after &lt;|python_tag|&gt;. An answer that does not start so is content; one that does is read as
/// a whole at the end, and is content unless every part is a call to a requested tool.
/// </summary>
public sealed class Llama3JsonToolParser : ToolParser
{
    public const string PythonTag = "<|python_tag|>";

    public override string Name => "llama3_json";

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        int i = JsonText.SkipWhitespace(text, 0);
        bool tagged = string.CompareOrdinal(text, i, PythonTag, 0, PythonTag.Length) == 0;
        if (tagged) i = JsonText.SkipWhitespace(text, i + PythonTag.Length);
        bool undecided = i >= text.Length || (!tagged && PythonTag.StartsWith(text[i..], StringComparison.Ordinal));
        if (!final && undecided) return ToolParse.Nothing;
        bool callShaped = i < text.Length && text[i] == '{';
        if (!callShaped) return Content(text, final);
        if (!final) return ToolParse.Nothing;
        return Calls(text, i, tools) is { } calls ? new ToolParse("", calls) : Content(text, true);
    }

    static ToolParse Content(string text, bool final)
    {
        var b = new ParseBuilder();
        b.Text(text);
        return b.Build(final);
    }

    static List<ParsedToolCall>? Calls(string text, int i, ToolSet tools)
    {
        var calls = new List<ParsedToolCall>();
        while (true)
        {
            int end = JsonText.ValueEnd(text, i);
            if (end < 0 || !JsonText.TryParse(text[i..end], out var obj) || JsonText.Call(obj, tools) is not { } call) return null;
            calls.Add(call);
            i = JsonText.SkipWhitespace(text, end);
            if (i >= text.Length) return calls;
            if (text[i] != ';') return null;
            i = JsonText.SkipWhitespace(text, i + 1);
            if (i >= text.Length) return calls;
        }
    }
}
