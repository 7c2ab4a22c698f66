namespace Pipeline.Host.ToolParsers;

/// <summary>
/// DeepSeek V3 calls between &lt;｜tool▁calls▁begin｜&gt; and &lt;｜tool▁calls▁end｜&gt;, each
/// <c>&lt;｜tool▁call▁begin｜&gt;function&lt;｜tool▁sep｜&gt;NAME\n```json\n{...}\n```&lt;｜tool▁call▁end｜&gt;</c>;
/// DeepSeek V3.1's shorter <c>&lt;｜tool▁call▁begin｜&gt;NAME&lt;｜tool▁sep｜&gt;{...}&lt;｜tool▁call▁end｜&gt;</c>
/// is read too. A calls section is content, markers included, unless every call in it parses.
/// </summary>
public sealed class DeepSeekV3ToolParser : ToolParser
{
    public const string CallsBegin = "<｜tool▁calls▁begin｜>", CallsEnd = "<｜tool▁calls▁end｜>",
        CallBegin = "<｜tool▁call▁begin｜>", CallEnd = "<｜tool▁call▁end｜>", Sep = "<｜tool▁sep｜>";

    public override string Name => "deepseek_v3";
    public override bool KeepsSpecialTokens => true;

    public override ToolParse Parse(string text, bool final, ToolSet tools)
    {
        var b = new ParseBuilder();
        int pos = 0;
        while (pos < text.Length)
        {
            int open = text.IndexOf(CallsBegin, pos, StringComparison.Ordinal);
            if (open < 0)
            {
                var tail = text[pos..];
                b.Text(final ? tail : tail[..^ParseBuilder.MarkerPrefixAtEnd(tail, CallsBegin)]);
                break;
            }
            b.Text(text[pos..open]);
            int close = text.IndexOf(CallsEnd, open, StringComparison.Ordinal);
            if (close < 0 && !final) break;
            int sectionEnd = close < 0 ? text.Length : close + CallsEnd.Length;
            var calls = Calls(text[(open + CallsBegin.Length)..(close < 0 ? text.Length : close)], tools);
            if (calls != null) foreach (var c in calls) b.Call(c);
            else b.Text(text[open..sectionEnd]);
            pos = sectionEnd;
        }
        return b.Build(final);
    }

    static List<ParsedToolCall>? Calls(string section, ToolSet tools)
    {
        var calls = new List<ParsedToolCall>();
        int i = 0;
        while (true)
        {
            i = JsonText.SkipWhitespace(section, i);
            if (i >= section.Length) return calls.Count > 0 ? calls : null;
            if (string.CompareOrdinal(section, i, CallBegin, 0, CallBegin.Length) != 0) return null;
            int from = i + CallBegin.Length;
            int end = section.IndexOf(CallEnd, from, StringComparison.Ordinal);
            var call = Call(section[from..(end < 0 ? section.Length : end)], tools);
            if (call == null) return null;
            calls.Add(call);
            i = end < 0 ? section.Length : end + CallEnd.Length;
        }
    }

    static ParsedToolCall? Call(string body, ToolSet tools)
    {
        int sep = body.IndexOf(Sep, StringComparison.Ordinal);
        if (sep < 0) return null;
        string name, args;
        var left = body[..sep].Trim();
        var right = body[(sep + Sep.Length)..];
        if (left == "function")
        {
            int nl = right.IndexOf('\n');
            if (nl < 0) return null;
            name = right[..nl].Trim();
            args = right[(nl + 1)..].Trim();
            if (!args.StartsWith("```")) return null;
            int fenceLine = args.IndexOf('\n');
            if (fenceLine < 0 || !args.EndsWith("```")) return null;
            args = args[(fenceLine + 1)..^3].Trim();
        }
        else
        {
            name = left;
            args = right.Trim();
        }
        if (!tools.Contains(name) || !JsonText.TryParse(args, out var value) || JsonText.Arguments(value) is not { } argText) return null;
        return new(name, argText);
    }
}
