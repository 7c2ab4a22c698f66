using Pipeline.Host.ToolParsers;

namespace Pipeline.Host.Reasoning;

/// <summary>
/// Thinking between a start and an end marker (&lt;think&gt;...&lt;/think&gt;; Granite's "Here is my thought process:" ...
/// "Here is my response:"). The output is thinking when it opens with a start marker, when the prompt left the
/// model thinking, or always (DeepSeek-R1, whose template opens the thinking); otherwise all of it is content.
/// Thinking that never ends (cut off by max_tokens) is all reasoning, streamed or not.
/// </summary>
public sealed class ThinkTagReasoningParser(string name, string[] starts, string[] ends, bool alwaysStartsInReasoning) : ReasoningParser
{
    public override string Name => name;
    public override string? EndMarker => ends.Length == 1 ? ends[0] : null;
    public override bool OutputStartsInReasoning(bool promptOpensReasoning) => alwaysStartsInReasoning || promptOpensReasoning;

    public override bool PromptOpensReasoning(string prompt)
    {
        var p = prompt.TrimEnd();
        return starts.Any(s => p.EndsWith(s, StringComparison.Ordinal));
    }

    public override ReasoningSplit Split(string text, bool final, bool startsInReasoning)
    {
        int i = 0;
        bool thinking = alwaysStartsInReasoning || startsInReasoning;
        int lead = JsonText.SkipWhitespace(text, 0);
        var rest = text[lead..];
        if (starts.FirstOrDefault(s => rest.StartsWith(s, StringComparison.Ordinal)) is { } start)
        {
            thinking = true;
            i = lead + start.Length;
        }
        else if (!final && (rest.Length == 0 || starts.Any(s => s.StartsWith(rest, StringComparison.Ordinal))))
            return new("", "", false);
        if (!thinking) return new("", text, true);

        int end = -1, endLength = 0;
        foreach (var e in ends)
        {
            int at = text.IndexOf(e, i, StringComparison.Ordinal);
            if (at >= 0 && (end < 0 || at < end)) (end, endLength) = (at, e.Length);
        }
        if (end >= 0) return new(text[i..end], text[(end + endLength)..], true);
        var reasoning = text[i..];
        if (!final) reasoning = reasoning[..^ParseBuilder.MarkerPrefixAtEnd(reasoning, ends)];
        return new(reasoning, "", false);
    }
}
