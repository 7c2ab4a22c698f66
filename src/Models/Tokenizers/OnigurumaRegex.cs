using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;

namespace Pipeline.Models.Tokenizers;

/// <summary>
/// Translates the Oniguruma regex dialect used in tokenizer.json into .NET syntax, and matches it over code points
/// rather than UTF-16 units.
/// </summary>
internal static class OnigurumaRegex
{
    private const RegexOptions Options = RegexOptions.CultureInvariant | RegexOptions.Compiled;

    public static Regex Literal(string text) => new(Regex.Escape(text), Options);

    public static Regex Compile(string pattern) => new(Translate(pattern), Options);

    /// <summary>Rewrites possessive quantifiers, \x{...}, \h and a few script properties that .NET lacks.</summary>
    public static string Translate(string p)
    {
        var sb = new StringBuilder(p.Length + 16);
        var groupStarts = new Stack<int>();
        int lastAtom = -1;
        int i = 0;
        while (i < p.Length)
        {
            char c = p[i];
            if (c == '\\')
            {
                int start = sb.Length;
                i = TranslateEscape(p, i, sb, inClass: false);
                lastAtom = start;
                continue;
            }
            if (c == '[')
            {
                int start = sb.Length;
                i = TranslateClass(p, i, sb);
                lastAtom = start;
                continue;
            }
            if (c == '(')
            {
                groupStarts.Push(sb.Length);
                sb.Append(c);
                i++;
                lastAtom = -1;
                continue;
            }
            if (c == ')')
            {
                sb.Append(c);
                i++;
                lastAtom = groupStarts.Count > 0 ? groupStarts.Pop() : -1;
                continue;
            }
            if (c is '*' or '+' or '?' or '{')
            {
                int qEnd = c == '{' ? p.IndexOf('}', i) : i;
                if (c == '{' && (qEnd < 0 || !IsCountQuantifier(p.AsSpan(i + 1, qEnd - i - 1))))
                {
                    sb.Append("\\{");
                    i++;
                    lastAtom = sb.Length - 2;
                    continue;
                }
                string quantifier = p.Substring(i, qEnd - i + 1);
                i = qEnd + 1;
                if (i < p.Length && p[i] == '+' && lastAtom >= 0)
                {
                    // Possessive quantifier: .NET has none, an atomic group is equivalent.
                    sb.Insert(lastAtom, "(?>");
                    sb.Append(quantifier).Append(')');
                    i++;
                }
                else
                {
                    sb.Append(quantifier);
                    if (i < p.Length && p[i] == '?') { sb.Append('?'); i++; }
                }
                lastAtom = -1;
                continue;
            }
            lastAtom = sb.Length;
            sb.Append(c);
            i++;
        }
        return sb.ToString();
    }

    private static bool IsCountQuantifier(ReadOnlySpan<char> body)
    {
        if (body.IsEmpty) return false;
        foreach (var ch in body)
            if (!char.IsAsciiDigit(ch) && ch != ',') return false;
        return true;
    }

    private static int TranslateClass(string p, int i, StringBuilder sb)
    {
        sb.Append('[');
        i++;
        if (i < p.Length && p[i] == '^') { sb.Append('^'); i++; }
        if (i < p.Length && p[i] == ']') { sb.Append("\\]"); i++; }
        while (i < p.Length && p[i] != ']')
        {
            if (p[i] == '\\') { i = TranslateEscape(p, i, sb, inClass: true); continue; }
            if (p[i] == '[')
            {
                // Oniguruma nested class (union); .NET only nests in subtraction, so flatten a plain nested set.
                int end = p.IndexOf(']', i + 1);
                if (end > i && p[i + 1] != '^' && p[i + 1] != ':')
                {
                    var inner = new StringBuilder();
                    TranslateClass(p, i, inner);
                    sb.Append(inner.ToString(1, inner.Length - 2));
                    i = SkipClass(p, i);
                    continue;
                }
                sb.Append("\\[");
                i++;
                continue;
            }
            sb.Append(p[i]);
            i++;
        }
        sb.Append(']');
        return i + 1;
    }

    private static int SkipClass(string p, int i)
    {
        i++;
        if (i < p.Length && p[i] == '^') i++;
        if (i < p.Length && p[i] == ']') i++;
        while (i < p.Length && p[i] != ']')
        {
            if (p[i] == '\\') { i += 2; continue; }
            if (p[i] == '[') { i = SkipClass(p, i); continue; }
            i++;
        }
        return i + 1;
    }

    private static int TranslateEscape(string p, int i, StringBuilder sb, bool inClass)
    {
        if (i + 1 >= p.Length) { sb.Append('\\'); return i + 1; }
        char e = p[i + 1];
        switch (e)
        {
            case 'x' when i + 2 < p.Length && p[i + 2] == '{':
            {
                int end = p.IndexOf('}', i + 3);
                int cp = int.Parse(p.AsSpan(i + 3, end - i - 3), NumberStyles.HexNumber, CultureInfo.InvariantCulture);
                foreach (char ch in char.ConvertFromUtf32(cp)) sb.Append("\\u").Append(((int)ch).ToString("X4", CultureInfo.InvariantCulture));
                return end + 1;
            }
            case 'h':
                sb.Append(inClass ? "0-9a-fA-F" : "[0-9a-fA-F]");
                return i + 2;
            case 'H':
                sb.Append(inClass ? "\\P{IsBasicLatin}" : "[^0-9a-fA-F]");
                return i + 2;
            case 'p' or 'P' when i + 2 < p.Length && p[i + 2] == '{':
            {
                int end = p.IndexOf('}', i + 3);
                string name = p.Substring(i + 3, end - i - 3);
                string? ranges = ScriptRanges(name.TrimStart('^'));
                bool negated = e == 'P' ^ name.StartsWith('^');
                if (ranges is null)
                    sb.Append('\\').Append(e).Append('{').Append(name).Append('}');
                else if (inClass && !negated)
                    sb.Append(ranges);
                else
                    sb.Append(negated ? "[^" : "[").Append(ranges).Append(']');
                return end + 1;
            }
            default:
                sb.Append('\\').Append(e);
                return i + 2;
        }
    }

    // .NET has Unicode blocks but no script properties; the BMP ranges of the common scripts stand in.
    private static string? ScriptRanges(string name) => name.ToLowerInvariant() switch
    {
        "han" => "\\u2E80-\\u2E99\\u2E9B-\\u2EF3\\u2F00-\\u2FD5\\u3005\\u3007\\u3021-\\u3029\\u3038-\\u303B\\u3400-\\u4DBF\\u4E00-\\u9FFF\\uF900-\\uFA6D\\uFA70-\\uFAD9",
        "hiragana" => "\\u3041-\\u3096\\u309D-\\u309F",
        "katakana" => "\\u30A1-\\u30FA\\u30FD-\\u30FF\\u31F0-\\u31FF\\u32D0-\\u32FE\\u3300-\\u3357\\uFF66-\\uFF6F\\uFF71-\\uFF9D",
        "hangul" => "\\u1100-\\u11FF\\u302E\\u302F\\u3131-\\u318E\\u3200-\\u321E\\u3260-\\u327E\\uA960-\\uA97C\\uAC00-\\uD7A3\\uD7B0-\\uD7C6\\uD7CB-\\uD7FB\\uFFA0-\\uFFBE\\uFFC2-\\uFFC7\\uFFCA-\\uFFCF\\uFFD2-\\uFFD7\\uFFDA-\\uFFDC",
        "latin" => "A-Za-z\\u00AA\\u00BA\\u00C0-\\u00D6\\u00D8-\\u00F6\\u00F8-\\u02B8\\u02E0-\\u02E4\\u1D00-\\u1D25\\u1D2C-\\u1D5C\\u1D62-\\u1D65\\u1D6B-\\u1D77\\u1D79-\\u1DBE\\u1E00-\\u1EFF\\u2071\\u207F\\u2090-\\u209C\\u212A\\u212B\\u2132\\u214E\\u2160-\\u2188\\u2C60-\\u2C7F\\uA722-\\uA787\\uA78B-\\uA7FF\\uAB30-\\uAB5A\\uAB5C-\\uAB64\\uFB00-\\uFB06\\uFF21-\\uFF3A\\uFF41-\\uFF5A",
        "cyrillic" => "\\u0400-\\u0484\\u0487-\\u052F\\u1C80-\\u1C88\\u1D2B\\u1D78\\u2DE0-\\u2DFF\\uA640-\\uA69F\\uFE2E\\uFE2F",
        "greek" => "\\u0370-\\u0373\\u0375-\\u0377\\u037A-\\u037D\\u037F\\u0384\\u0386\\u0388-\\u038A\\u038C\\u038E-\\u03A1\\u03A3-\\u03E1\\u03F0-\\u03FF\\u1D26-\\u1D2A\\u1D5D-\\u1D61\\u1D66-\\u1D6A\\u1DBF\\u1F00-\\u1FFE\\u2126\\uAB65",
        "arabic" => "\\u0600-\\u0604\\u0606-\\u060B\\u060D-\\u061A\\u061C-\\u061E\\u0620-\\u063F\\u0641-\\u064A\\u0656-\\u066F\\u0671-\\u06DC\\u06DE-\\u06FF\\u0750-\\u077F\\u08A0-\\u08FF\\uFB50-\\uFDFF\\uFE70-\\uFEFC",
        "thai" => "\\u0E01-\\u0E3A\\u0E40-\\u0E5B",
        _ => null,
    };

    /// <summary>
    /// Finds all matches as (start, length) in <paramref name="s"/>. .NET regexes see a supplementary code point as two
    /// surrogates (category Cs), unlike Oniguruma; such code points are matched through a one-char stand-in of the same
    /// general category.
    /// </summary>
    public static void Matches(Regex regex, string s, List<(int Start, int Length)> output)
    {
        int firstSurrogate = s.AsSpan().IndexOfAnyInRange('\uD800', '\uDFFF');
        if (firstSurrogate < 0)
        {
            foreach (var m in regex.EnumerateMatches(s)) output.Add((m.Index, m.Length));
            return;
        }
        var shadow = new char[s.Length];
        var map = new int[s.Length + 1];
        int n = 0;
        for (int i = 0; i < s.Length;)
        {
            map[n] = i;
            if (char.IsHighSurrogate(s[i]) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                shadow[n++] = StandIn(CharUnicodeInfo.GetUnicodeCategory(char.ConvertToUtf32(s[i], s[i + 1])));
                i += 2;
            }
            else
            {
                shadow[n++] = s[i++];
            }
        }
        map[n] = s.Length;
        foreach (var m in regex.EnumerateMatches(shadow.AsSpan(0, n)))
            output.Add((map[m.Index], map[m.Index + m.Length] - map[m.Index]));
    }

    private static char StandIn(UnicodeCategory cat) => cat switch
    {
        UnicodeCategory.UppercaseLetter => '\u00C0',
        UnicodeCategory.LowercaseLetter => '\u00DF',
        UnicodeCategory.TitlecaseLetter => '\u01C5',
        UnicodeCategory.ModifierLetter => '\u02B0',
        UnicodeCategory.OtherLetter => '\u00AA',
        UnicodeCategory.NonSpacingMark => '\u0300',
        UnicodeCategory.SpacingCombiningMark => '\u0903',
        UnicodeCategory.EnclosingMark => '\u20DD',
        UnicodeCategory.DecimalDigitNumber => '\u0660',
        UnicodeCategory.LetterNumber => '\u2160',
        UnicodeCategory.OtherNumber => '\u00B2',
        UnicodeCategory.MathSymbol => '\u00AC',
        UnicodeCategory.CurrencySymbol => '\u00A2',
        UnicodeCategory.ModifierSymbol => '\u02C2',
        UnicodeCategory.ConnectorPunctuation => '\u203F',
        UnicodeCategory.DashPunctuation => '\u2010',
        UnicodeCategory.OpenPunctuation => '\u2045',
        UnicodeCategory.ClosePunctuation => '\u2046',
        UnicodeCategory.InitialQuotePunctuation => '\u00AB',
        UnicodeCategory.FinalQuotePunctuation => '\u00BB',
        UnicodeCategory.OtherPunctuation => '\u00A1',
        UnicodeCategory.Format => '\u2060',
        UnicodeCategory.PrivateUse => '\uE000',
        UnicodeCategory.OtherNotAssigned => '\u0378',
        _ => '\u00A6',
    };
}
