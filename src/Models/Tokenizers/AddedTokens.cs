using System.Buffers;
using System.Text;

namespace Pipeline.Models.Tokenizers;

/// <summary>An entry of tokenizer.json "added_tokens".</summary>
internal sealed record AddedToken(int Id, string Content, bool Special, bool LStrip, bool RStrip, bool SingleWord, bool Normalized);

/// <summary>A run of text still to be tokenized, or an added token already resolved to its id (Text null).</summary>
internal readonly record struct Segment(string? Text, int Id, bool AtStart);

/// <summary>Cuts added tokens out of text before the model runs: leftmost-longest match, honouring lstrip/rstrip/single_word.</summary>
internal sealed class AddedTokenSplitter
{
    private readonly Dictionary<char, (string Pattern, AddedToken Token)[]> _byFirstChar;
    private readonly SearchValues<char> _firstChars;

    public AddedTokenSplitter(IEnumerable<(string Pattern, AddedToken Token)> patterns)
    {
        _byFirstChar = patterns.Where(p => p.Pattern.Length > 0)
            .GroupBy(p => p.Pattern[0])
            .ToDictionary(g => g.Key, g => g.OrderByDescending(p => p.Pattern.Length).ToArray());
        _firstChars = SearchValues.Create(_byFirstChar.Keys.ToArray());
    }

    public bool IsEmpty => _byFirstChar.Count == 0;

    /// <summary>Appends the pieces of <paramref name="text"/> to <paramref name="output"/>; AtStart marks text at offset 0 of the input.</summary>
    public void Split(string text, bool atStart, List<Segment> output)
    {
        if (IsEmpty) { Add(output, text, 0, text.Length, atStart); return; }
        int emitted = 0;
        int pos = 0;
        while (pos < text.Length)
        {
            int rel = text.AsSpan(pos).IndexOfAny(_firstChars);
            if (rel < 0) break;
            int start = pos + rel;
            var match = LongestAt(text, start);
            if (match is null) { pos = start + 1; continue; }
            var (pattern, token) = match.Value;
            int stop = start + pattern.Length;
            if (token.SingleWord)
            {
                bool startOk = start == 0 || !EndsWithWord(text, start);
                bool stopOk = stop == text.Length || !StartsWithWord(text, stop);
                if (!startOk || !stopOk) { pos = start + 1; continue; }
            }
            int cutStart = start;
            if (token.LStrip)
            {
                while (cutStart > emitted && char.IsWhiteSpace(text[cutStart - 1])) cutStart--;
            }
            int cutStop = stop;
            if (token.RStrip)
            {
                while (cutStop < text.Length && char.IsWhiteSpace(text[cutStop])) cutStop++;
            }
            Add(output, text, emitted, cutStart, atStart && emitted == 0);
            output.Add(new Segment(null, token.Id, false));
            emitted = cutStop;
            pos = cutStop;
        }
        Add(output, text, emitted, text.Length, atStart && emitted == 0);
    }

    private static void Add(List<Segment> output, string text, int start, int end, bool atStart)
    {
        if (end <= start) return;
        output.Add(new Segment(start == 0 && end == text.Length ? text : text[start..end], -1, atStart));
    }

    private (string, AddedToken)? LongestAt(string text, int start)
    {
        if (!_byFirstChar.TryGetValue(text[start], out var candidates)) return null;
        var rest = text.AsSpan(start);
        foreach (var c in candidates)
            if (rest.StartsWith(c.Pattern, StringComparison.Ordinal)) return c;
        return null;
    }

    private static bool EndsWithWord(string text, int end)
    {
        Rune.DecodeLastFromUtf16(text.AsSpan(0, end), out var r, out _);
        return CharClasses.IsWord(r);
    }

    private static bool StartsWithWord(string text, int start)
    {
        Rune.DecodeFromUtf16(text.AsSpan(start), out var r, out _);
        return CharClasses.IsWord(r);
    }
}
