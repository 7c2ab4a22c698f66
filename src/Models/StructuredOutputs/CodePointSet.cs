using System.Text;
using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A set of Unicode scalar values as sorted, disjoint ranges, and its UTF-8 form as a grammar expression: each range
/// is split into runs whose encodings differ only in per-byte ranges (the utf8-ranges construction), so every byte
/// sequence the expression matches is well-formed UTF-8.
/// </summary>
public sealed class CodePointSet
{
    public const int MaxCodePoint = 0x10FFFF;
    readonly List<(int Lo, int Hi)> _ranges;

    CodePointSet(List<(int, int)> ranges) => _ranges = ranges;

    public IReadOnlyList<(int Lo, int Hi)> Ranges => _ranges;
    public bool IsEmpty => _ranges.Count == 0;

    public static CodePointSet Of(params (int Lo, int Hi)[] ranges) => Normalize(ranges);
    public static CodePointSet Char(int c) => Of((c, c));
    public static readonly CodePointSet All = Of((0, MaxCodePoint));
    public static readonly CodePointSet Digit = Of(('0', '9'));
    public static readonly CodePointSet Word = Of(('0', '9'), ('A', 'Z'), ('_', '_'), ('a', 'z'));
    public static readonly CodePointSet Space = Of(('\t', '\r'), (' ', ' '));
    public static readonly CodePointSet Ascii = Of((0, 0x7F));

    public bool Contains(int c) => _ranges.Any(r => r.Lo <= c && c <= r.Hi);

    public CodePointSet Union(CodePointSet o) => Normalize(_ranges.Concat(o._ranges));

    /// <summary>Everything in <paramref name="universe"/> not in this set.</summary>
    public CodePointSet Complement(CodePointSet? universe = null)
    {
        var result = new List<(int, int)>();
        int next = 0;
        foreach (var (lo, hi) in _ranges)
        {
            if (lo > next) result.Add((next, lo - 1));
            next = hi + 1;
        }
        if (next <= MaxCodePoint) result.Add((next, MaxCodePoint));
        var c = new CodePointSet(result);
        return universe == null ? c : c.Intersect(universe);
    }

    public CodePointSet Intersect(CodePointSet o)
    {
        var result = new List<(int, int)>();
        foreach (var a in _ranges)
            foreach (var b in o._ranges)
            {
                int lo = Math.Max(a.Lo, b.Lo), hi = Math.Min(a.Hi, b.Hi);
                if (lo <= hi) result.Add((lo, hi));
            }
        return Normalize(result);
    }

    public CodePointSet Except(CodePointSet o) => Intersect(o.Complement());

    /// <summary>Adds the other case of ASCII letters (for a case-insensitive regex).</summary>
    public CodePointSet WithAsciiCaseFolded()
    {
        var extra = new List<(int, int)>();
        foreach (var (lo, hi) in _ranges)
            for (int c = Math.Max(lo, 'A'); c <= Math.Min(hi, 'z'); c++)
            {
                if (c is >= 'A' and <= 'Z') extra.Add((c + 32, c + 32));
                else if (c is >= 'a' and <= 'z') extra.Add((c - 32, c - 32));
            }
        return Normalize(_ranges.Concat(extra));
    }

    static CodePointSet Normalize(IEnumerable<(int Lo, int Hi)> ranges)
    {
        var sorted = ranges.Where(r => r.Lo <= r.Hi).OrderBy(r => r.Lo).ToList();
        var merged = new List<(int, int)>();
        foreach (var (lo, hi) in sorted)
        {
            if (merged.Count > 0 && lo <= merged[^1].Item2 + 1) merged[^1] = (merged[^1].Item1, Math.Max(merged[^1].Item2, hi));
            else merged.Add((lo, hi));
        }
        return new CodePointSet(merged);
    }

    /// <summary>The set's characters as UTF-8 byte sequences (surrogates excluded).</summary>
    public GrammarExpr ToUtf8()
    {
        var seqs = new List<GrammarExpr>();
        foreach (var (lo, hi) in _ranges) Split(lo, hi, seqs);
        if (seqs.Count == 0) throw new GrammarException("character class", "a character class matches no character");
        return Either(seqs);
    }

    static void Split(int s, int e, List<GrammarExpr> into)
    {
        while (true)
        {
            if (s > e) return;
            if (s <= 0xDFFF && e >= 0xD800)
            {
                Split(s, 0xD7FF, into);
                s = 0xE000;
                continue;
            }
            bool split = false;
            foreach (var max in new[] { 0x7F, 0x7FF, 0xFFFF })
                if (s <= max && e > max) { Split(s, max, into); s = max + 1; split = true; break; }
            if (split) continue;
            if (e <= 0x7F) { into.Add(new Set(ByteSet.Range(s, e))); return; }
            for (int i = 1; i <= 3 && !split; i++)
            {
                int m = (1 << (6 * i)) - 1;
                if ((s & ~m) != (e & ~m))
                {
                    if ((s & m) != 0) { Split(s, s | m, into); s = (s | m) + 1; split = true; }
                    else if ((e & m) != m) { Split(e & ~m, e, into); e = (e & ~m) - 1; split = true; }
                }
            }
            if (split) continue;
            var a = Encode(s);
            var b = Encode(e);
            var parts = new GrammarExpr[a.Length];
            for (int i = 0; i < a.Length; i++) parts[i] = new Set(ByteSet.Range(a[i], b[i]));
            into.Add(new Seq(parts));
            return;
        }
    }

    static byte[] Encode(int c) => Encoding.UTF8.GetBytes(char.ConvertFromUtf32(c));
}
