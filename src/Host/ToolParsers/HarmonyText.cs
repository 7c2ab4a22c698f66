using System.Text.RegularExpressions;

namespace Pipeline.Host.ToolParsers;

/// <summary>One message of gpt-oss's harmony format: its channel, its recipient (functions.NAME for a call), its body.</summary>
public sealed record HarmonyMessage(string Channel, string? Recipient, string Body, bool Complete, string Raw);

/// <summary>
/// Reads gpt-oss output in OpenAI's harmony format, special tokens kept:
/// <c>&lt;|channel|&gt;analysis&lt;|message|&gt;...&lt;|end|&gt;&lt;|start|&gt;assistant&lt;|channel|&gt;commentary to=functions.f &lt;|constrain|&gt;json&lt;|message|&gt;{...}&lt;|call|&gt;</c>.
/// A message whose header is not complete is undecided while streaming; the body of the last message grows, holding
/// back what may begin a terminator. Text outside any message is read as a final-channel message.
/// </summary>
public static partial class HarmonyText
{
    public const string Start = "<|start|>", Channel = "<|channel|>", Message = "<|message|>", End = "<|end|>", Call = "<|call|>", Return = "<|return|>";
    static readonly string[] Terminators = [End, Call, Return, Start];

    [GeneratedRegex(@"to=([^\s<]+)")]
    private static partial Regex RecipientPattern();

    [GeneratedRegex(@"<\|channel\|>\s*([^\s<]+)")]
    private static partial Regex ChannelPattern();

    public static List<HarmonyMessage> Parse(string text, bool final)
    {
        var messages = new List<HarmonyMessage>();
        int pos = 0;
        while (pos < text.Length)
        {
            bool header = string.CompareOrdinal(text, pos, Start, 0, Start.Length) == 0 || string.CompareOrdinal(text, pos, Channel, 0, Channel.Length) == 0;
            if (!header)
            {
                int next = NextHeader(text, pos);
                int end = next < 0 ? text.Length : next;
                var loose = text[pos..end];
                bool complete = next >= 0 || final;
                if (!complete) loose = loose[..^ParseBuilder.MarkerPrefixAtEnd(loose, [Start, Channel])];
                messages.Add(new("final", null, loose, complete, loose));
                if (next < 0) break;
                pos = next;
                continue;
            }
            int msg = text.IndexOf(Message, pos, StringComparison.Ordinal);
            if (msg < 0)
            {
                if (final) messages.Add(new("final", null, text[pos..], true, text[pos..]));
                break;
            }
            var head = text[pos..msg];
            var channel = ChannelPattern().Match(head) is { Success: true } c ? c.Groups[1].Value : "";
            var recipient = RecipientPattern().Match(head) is { Success: true } r ? r.Groups[1].Value : null;
            int bodyStart = msg + Message.Length;
            var (term, termLen) = FirstTerminator(text, bodyStart);
            if (term >= 0)
            {
                int after = text.AsSpan(term).StartsWith(Start) ? term : term + termLen;
                messages.Add(new(channel, recipient, text[bodyStart..term], true, text[pos..after]));
                pos = after;
                continue;
            }
            var body = text[bodyStart..];
            if (!final) body = body[..^ParseBuilder.MarkerPrefixAtEnd(body, Terminators)];
            messages.Add(new(channel, recipient, body, final, text[pos..(bodyStart + body.Length)]));
            break;
        }
        return messages;
    }

    static int NextHeader(string text, int from)
    {
        int a = text.IndexOf(Start, from, StringComparison.Ordinal), b = text.IndexOf(Channel, from, StringComparison.Ordinal);
        return a < 0 ? b : b < 0 ? a : Math.Min(a, b);
    }

    static (int Index, int Length) FirstTerminator(string text, int from)
    {
        (int, int) best = (-1, 0);
        foreach (var t in Terminators)
        {
            int i = text.IndexOf(t, from, StringComparison.Ordinal);
            if (i >= 0 && (best.Item1 < 0 || i < best.Item1)) best = (i, t.Length);
        }
        return best;
    }
}
