using Pipeline.Host.Protocol;
using Pipeline.Host.Reasoning;
using Pipeline.Host.ToolParsers;

namespace Pipeline.Host.Tests.ToolCalling;

/// <summary>Runs a text through <see cref="ChatOutputParser"/> whole and streamed, and checks the two agree.</summary>
static class OutputParsing
{
    public sealed record Result(string? Reasoning, string? Content, IReadOnlyList<(string Name, string Arguments)> Calls);

    public static ChatOutputParser Parser(string? reasoning, string? tools, ToolSet set, bool startsInReasoning = false) =>
        new(reasoning == null ? null : ReasoningParserManager.Get(reasoning), tools == null ? null : ToolParserManager.Get(tools), set, startsInReasoning);

    public static Result Whole(Func<ChatOutputParser> make, string text)
    {
        var (r, c, calls) = make().Parse(text);
        return new(r, c, calls.Select(x => (x.Name, x.Arguments)).ToList());
    }

    /// <summary>The text sent in the given pieces; the deltas added up as a client would.</summary>
    public static Result Streamed(Func<ChatOutputParser> make, IReadOnlyList<string> pieces)
    {
        var p = make();
        string reasoning = "", content = "";
        var calls = new List<(string, string)>();
        for (int i = 0; i < pieces.Count; i++)
        {
            var d = p.Append(pieces[i], i == pieces.Count - 1);
            reasoning += d.Reasoning;
            content += d.Content;
            calls.AddRange(d.Calls.Select(x => (x.Name, x.Arguments)));
        }
        return new(reasoning.Length == 0 ? null : reasoning, content.Length == 0 && (calls.Count > 0 || reasoning.Length > 0) ? null : content, calls);
    }

    /// <summary>
    /// Parses whole, then streamed one character at a time and split in two at every boundary: every streamed
    /// answer must equal the whole one. Returns the whole answer.
    /// </summary>
    public static Result CheckStreaming(Func<ChatOutputParser> make, string text)
    {
        var whole = Whole(make, text);
        AssertSame(whole, Streamed(make, text.Select(ch => ch.ToString()).ToList()), text, "one character at a time");
        for (int k = 0; k <= text.Length; k++)
            AssertSame(whole, Streamed(make, [text[..k], text[k..]]), text, $"split at {k}");
        return whole;
    }

    static void AssertSame(Result whole, Result streamed, string text, string how)
    {
        string Show(Result r) => $"reasoning={r.Reasoning ?? "null"} content={r.Content ?? "null"} calls=[{string.Join("; ", r.Calls.Select(c => c.Name + " " + c.Arguments))}]";
        Assert.True(whole.Reasoning == streamed.Reasoning && (whole.Content ?? "") == (streamed.Content ?? "") && whole.Calls.SequenceEqual(streamed.Calls),
            $"streamed {how} differs for {text}\nwhole:    {Show(whole)}\nstreamed: {Show(streamed)}");
    }
}
