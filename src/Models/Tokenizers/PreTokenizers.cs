using System.Buffers;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Models.Tokenizers;

/// <summary>A pre-token: a slice of normalized text, and whether it begins at offset 0 of the original input.</summary>
internal readonly record struct Piece(string Text, bool AtStart);

/// <summary>Splits pieces further before the model sees them (tokenizer.json "pre_tokenizer").</summary>
internal interface IPreTokenizer
{
    void Split(Piece piece, List<Piece> output);
}

internal enum SplitBehavior { Removed, Isolated, MergedWithPrevious, MergedWithNext, Contiguous }

/// <summary>Applies a split behaviour to (start, length, isMatch) spans that cover a piece.</summary>
internal static class SplitSpans
{
    public static void Emit(Piece piece, List<(int Start, int Length, bool IsMatch)> spans, SplitBehavior behavior, List<Piece> output)
    {
        var merged = new List<(int Start, int End)>(spans.Count);
        switch (behavior)
        {
            case SplitBehavior.Removed:
                foreach (var s in spans) if (!s.IsMatch) merged.Add((s.Start, s.Start + s.Length));
                break;
            case SplitBehavior.Isolated:
                foreach (var s in spans) merged.Add((s.Start, s.Start + s.Length));
                break;
            case SplitBehavior.MergedWithPrevious:
            {
                bool previousMatch = false;
                foreach (var s in spans)
                {
                    if (s.IsMatch && !previousMatch && merged.Count > 0) merged[^1] = (merged[^1].Start, s.Start + s.Length);
                    else merged.Add((s.Start, s.Start + s.Length));
                    previousMatch = s.IsMatch;
                }
                break;
            }
            case SplitBehavior.MergedWithNext:
            {
                bool previousMatch = false;
                for (int i = spans.Count - 1; i >= 0; i--)
                {
                    var s = spans[i];
                    if (s.IsMatch && !previousMatch && merged.Count > 0) merged[^1] = (s.Start, merged[^1].End);
                    else merged.Add((s.Start, s.Start + s.Length));
                    previousMatch = s.IsMatch;
                }
                merged.Reverse();
                break;
            }
            case SplitBehavior.Contiguous:
            {
                bool previousMatch = false;
                foreach (var s in spans)
                {
                    if (s.IsMatch == previousMatch && merged.Count > 0) merged[^1] = (merged[^1].Start, s.Start + s.Length);
                    else merged.Add((s.Start, s.Start + s.Length));
                    previousMatch = s.IsMatch;
                }
                break;
            }
        }
        foreach (var (start, end) in merged)
        {
            if (end <= start) continue;
            output.Add(new Piece(start == 0 && end == piece.Text.Length ? piece.Text : piece.Text[start..end], piece.AtStart && start == 0));
        }
    }

    /// <summary>Turns match positions into spans covering the whole text, gaps included.</summary>
    public static List<(int Start, int Length, bool IsMatch)> FromMatches(string text, List<(int Start, int Length)> matches, bool invert)
    {
        var spans = new List<(int, int, bool)>(matches.Count * 2 + 1);
        int prev = 0;
        foreach (var (start, length) in matches)
        {
            if (length == 0) continue;
            if (start > prev) spans.Add((prev, start - prev, invert));
            spans.Add((start, length, !invert));
            prev = start + length;
        }
        if (prev < text.Length) spans.Add((prev, text.Length - prev, invert));
        return spans;
    }

    /// <summary>Each code point for which <paramref name="predicate"/> holds is its own match.</summary>
    public static List<(int Start, int Length, bool IsMatch)> FromPredicate(string text, Func<Rune, bool> predicate)
    {
        var spans = new List<(int, int, bool)>();
        int i = 0;
        int gapStart = 0;
        while (i < text.Length)
        {
            Rune.DecodeFromUtf16(text.AsSpan(i), out var r, out int used);
            if (predicate(r))
            {
                if (i > gapStart) spans.Add((gapStart, i - gapStart, false));
                spans.Add((i, used, true));
                gapStart = i + used;
            }
            i += used;
        }
        if (gapStart < text.Length) spans.Add((gapStart, text.Length - gapStart, false));
        return spans;
    }
}

internal sealed class SplitPreTokenizer(Regex pattern, SplitBehavior behavior, bool invert) : IPreTokenizer
{
    public void Split(Piece piece, List<Piece> output)
    {
        var matches = new List<(int, int)>();
        OnigurumaRegex.Matches(pattern, piece.Text, matches);
        SplitSpans.Emit(piece, SplitSpans.FromMatches(piece.Text, matches, invert), behavior, output);
    }
}

internal sealed class PredicatePreTokenizer(Func<Rune, bool> predicate, SplitBehavior behavior) : IPreTokenizer
{
    public void Split(Piece piece, List<Piece> output) =>
        SplitSpans.Emit(piece, SplitSpans.FromPredicate(piece.Text, predicate), behavior, output);
}

internal sealed class WhitespacePreTokenizer : IPreTokenizer
{
    private static readonly Regex Words = OnigurumaRegex.Compile(@"[\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\u200C\u200D]+|[^\p{L}\p{M}\p{Nd}\p{Nl}\p{Pc}\u200C\u200D\s]+");

    public void Split(Piece piece, List<Piece> output)
    {
        var matches = new List<(int, int)>();
        OnigurumaRegex.Matches(Words, piece.Text, matches);
        SplitSpans.Emit(piece, SplitSpans.FromMatches(piece.Text, matches, invert: true), SplitBehavior.Removed, output);
    }
}

internal sealed class BertPreTokenizer : IPreTokenizer
{
    private readonly PredicatePreTokenizer _whitespace = new(CharClasses.IsWhitespace, SplitBehavior.Removed);
    private readonly PredicatePreTokenizer _punctuation = new(CharClasses.IsPunctuation, SplitBehavior.Isolated);

    public void Split(Piece piece, List<Piece> output)
    {
        var words = new List<Piece>();
        _whitespace.Split(piece, words);
        foreach (var w in words) _punctuation.Split(w, output);
    }
}

internal sealed class MetaspacePreTokenizer(char replacement, string prependScheme, bool split) : IPreTokenizer
{
    public char Replacement { get; } = replacement;
    public string PrependScheme { get; } = prependScheme;

    public void Split(Piece piece, List<Piece> output)
    {
        string text = piece.Text.Replace(' ', Replacement);
        bool prepend = PrependScheme == "always" || (PrependScheme == "first" && piece.AtStart);
        if (prepend && !text.StartsWith(Replacement)) text = Replacement + text;
        var p = new Piece(text, piece.AtStart);
        if (!split) { output.Add(p); return; }
        SplitSpans.Emit(p, SplitSpans.FromPredicate(text, r => r.Value == Replacement), SplitBehavior.MergedWithNext, output);
    }
}

internal sealed class ByteLevelPreTokenizer(bool addPrefixSpace, bool useRegex) : IPreTokenizer
{
    internal static readonly Regex Gpt2Pattern =
        OnigurumaRegex.Compile(@"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+");

    public void Split(Piece piece, List<Piece> output)
    {
        string text = piece.Text;
        if (addPrefixSpace && !text.StartsWith(' ')) text = " " + text;
        if (!useRegex)
        {
            output.Add(new Piece(ToByteChars(text), piece.AtStart));
            return;
        }
        var matches = new List<(int, int)>();
        OnigurumaRegex.Matches(Gpt2Pattern, text, matches);
        int prev = 0;
        foreach (var (start, length) in matches)
        {
            if (length == 0) continue;
            if (start > prev) output.Add(new Piece(ToByteChars(text.AsSpan(prev, start - prev)), piece.AtStart && prev == 0));
            output.Add(new Piece(ToByteChars(text.AsSpan(start, length)), piece.AtStart && start == 0));
            prev = start + length;
        }
        if (prev < text.Length) output.Add(new Piece(ToByteChars(text.AsSpan(prev)), piece.AtStart && prev == 0));
    }

    public static string ToByteChars(ReadOnlySpan<char> text)
    {
        if (!System.Text.Ascii.IsValid(text)) return ToByteCharsUtf8(text);
        return string.Create(text.Length, text, static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteLevelAlphabet.ByteToChar[src[i]];
        });
    }

    private static string ToByteCharsUtf8(ReadOnlySpan<char> text)
    {
        int max = Encoding.UTF8.GetMaxByteCount(text.Length);
        byte[]? rented = max > 512 ? ArrayPool<byte>.Shared.Rent(max) : null;
        Span<byte> bytes = rented is null ? stackalloc byte[512] : rented;
        int n = Encoding.UTF8.GetBytes(text, bytes);
        string result = string.Create(n, bytes[..n], static (dst, src) =>
        {
            for (int i = 0; i < src.Length; i++) dst[i] = ByteLevelAlphabet.ByteToChar[src[i]];
        });
        if (rented is not null) ArrayPool<byte>.Shared.Return(rented);
        return result;
    }
}

internal sealed class SequencePreTokenizer(IReadOnlyList<IPreTokenizer> steps) : IPreTokenizer
{
    public void Split(Piece piece, List<Piece> output)
    {
        var current = new List<Piece> { piece };
        var next = new List<Piece>();
        foreach (var step in steps)
        {
            next.Clear();
            foreach (var p in current) step.Split(p, next);
            (current, next) = (next, current);
        }
        output.AddRange(current);
    }
}
