namespace Pipeline.Host.ToolParsers;

/// <summary>
/// Text with calls between a start and an end marker (&lt;tool_call&gt;...&lt;/tool_call&gt;): text outside the
/// markers is content; a block is a call when its body parses, else it stays content with its markers. An unclosed
/// block is undecided while streaming and, at the end of the output, is read up to the end.
/// </summary>
static class TaggedBlocks
{
    /// <param name="body">Makes a call of a block's body, or null when it is not one.</param>
    public static ToolParse Parse(string text, bool final, string start, string end, Func<string, ParsedToolCall?> body)
    {
        var b = new ParseBuilder();
        int pos = 0;
        while (pos < text.Length)
        {
            int open = text.IndexOf(start, pos, StringComparison.Ordinal);
            if (open < 0)
            {
                var tail = text[pos..];
                b.Text(final ? tail : tail[..^ParseBuilder.MarkerPrefixAtEnd(tail, start)]);
                break;
            }
            b.Text(text[pos..open]);
            int from = open + start.Length;
            int close = text.IndexOf(end, from, StringComparison.Ordinal);
            if (close < 0 && !final) break;
            int blockEnd = close < 0 ? text.Length : close + end.Length;
            var call = body(text[from..(close < 0 ? text.Length : close)]);
            if (call != null) b.Call(call);
            else b.Text(text[open..blockEnd]);
            pos = blockEnd;
        }
        return b.Build(final);
    }
}
