using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>Python str indexing counts code points, not UTF-16 units; these helpers do the same.</summary>
internal static class PyStr
{
    private static bool HasSurrogates(string s)
    {
        foreach (char c in s)
            if (char.IsSurrogate(c)) return true;
        return false;
    }

    public static int[] CodePoints(string s)
    {
        if (!HasSurrogates(s))
        {
            var a = new int[s.Length];
            for (int i = 0; i < s.Length; i++) a[i] = s[i];
            return a;
        }
        var list = new List<int>(s.Length);
        foreach (var r in s.EnumerateRunes()) list.Add(r.Value);
        return list.ToArray();
    }

    public static string FromCodePoints(IEnumerable<int> cps)
    {
        var sb = new StringBuilder();
        foreach (var c in cps)
        {
            if (c < 0x10000) sb.Append((char)c);
            else sb.Append(char.ConvertFromUtf32(c));
        }
        return sb.ToString();
    }

    public static long Length(string s) => HasSurrogates(s) ? CodePoints(s).Length : s.Length;

    public static IEnumerable<object?> Chars(string s)
    {
        if (!HasSurrogates(s)) return s.Select(c => (object?)c.ToString());
        return s.EnumerateRunes().Select(r => (object?)r.ToString()).ToList();
    }

    public static string? At(string s, long index)
    {
        var cps = CodePoints(s);
        if (index < 0) index += cps.Length;
        if (index < 0 || index >= cps.Length) return null;
        return char.ConvertFromUtf32(cps[index]);
    }

    public static string Strip(string s, object? chars, bool left, bool right)
    {
        if (chars is null or Undefined)
        {
            if (left) s = s.TrimStart();
            if (right) s = s.TrimEnd();
            return s;
        }
        if (chars is not string cs) throw new RenderError("strip arg must be None or str");
        if (cs.Length == 0) return s;
        var set = cs.ToCharArray();
        if (left) s = s.TrimStart(set);
        if (right) s = s.TrimEnd(set);
        return s;
    }

    /// <summary>str.split(sep=None, maxsplit=-1).</summary>
    public static List<object?> Split(string s, object? sep, long maxsplit)
    {
        var result = new List<object?>();
        if (sep is null or Undefined)
        {
            int i = 0, n = s.Length;
            while (true)
            {
                while (i < n && char.IsWhiteSpace(s[i])) i++;
                if (i >= n) break;
                if (maxsplit >= 0 && result.Count == maxsplit)
                {
                    result.Add(s[i..]);
                    break;
                }
                int st = i;
                while (i < n && !char.IsWhiteSpace(s[i])) i++;
                result.Add(s[st..i]);
            }
            return result;
        }
        if (sep is not string sp) throw new RenderError("must be str or None");
        if (sp.Length == 0) throw new RenderError("empty separator");
        int pos = 0;
        while (maxsplit < 0 || result.Count < maxsplit)
        {
            int j = s.IndexOf(sp, pos, StringComparison.Ordinal);
            if (j < 0) break;
            result.Add(s[pos..j]);
            pos = j + sp.Length;
        }
        result.Add(s[pos..]);
        return result;
    }

    public static List<object?> RSplit(string s, object? sep, long maxsplit)
    {
        if (maxsplit < 0) return Split(s, sep, maxsplit);
        if (sep is null or Undefined) return RSplitWhitespace(s, maxsplit);
        if (sep is not string sp) throw new RenderError("must be str or None");
        if (sp.Length == 0) throw new RenderError("empty separator");
        var result = new List<object?>();
        int end = s.Length;
        while (result.Count < maxsplit)
        {
            int j = end - sp.Length < 0 ? -1 : s.LastIndexOf(sp, end - 1, end, StringComparison.Ordinal);
            if (j < 0 || j + sp.Length > end) break;
            result.Insert(0, s[(j + sp.Length)..end]);
            end = j;
        }
        result.Insert(0, s[..end]);
        return result;
    }

    /// <summary>str.center: an odd padding puts the extra fill on the left only when width is odd.</summary>
    public static string Center(string s, long width, string fill)
    {
        long pad = width - s.Length;
        if (pad <= 0) return s;
        PyOps.Size(width);
        long left = pad / 2 + (pad & width & 1);
        char c = fill.Length > 0 ? fill[0] : ' ';
        return new string(c, (int)left) + s + new string(c, (int)(pad - left));
    }

    private static List<object?> RSplitWhitespace(string s, long maxsplit)
    {
        var result = new List<object?>();
        int i = s.Length - 1;
        while (true)
        {
            while (i >= 0 && char.IsWhiteSpace(s[i])) i--;
            if (i < 0) break;
            if (result.Count == maxsplit)
            {
                result.Insert(0, s[..(i + 1)]);
                break;
            }
            int end = i + 1;
            while (i >= 0 && !char.IsWhiteSpace(s[i])) i--;
            result.Insert(0, s[(i + 1)..end]);
        }
        return result;
    }

    public static string Capitalize(string s) =>
        s.Length == 0 ? s : char.ToUpperInvariant(s[0]) + s[1..].ToLowerInvariant();

    /// <summary>Python str.title(): a letter following a non-letter is uppercased, others lowercased.</summary>
    public static string PyTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool prevCased = false;
        foreach (char c in s)
        {
            sb.Append(prevCased ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c));
            prevCased = char.IsLetter(c);
        }
        return sb.ToString();
    }

    /// <summary>jinja2's title filter: words start after runs of '-', whitespace, or opening brackets.</summary>
    public static string JinjaTitle(string s)
    {
        var sb = new StringBuilder(s.Length);
        bool atStart = true;
        foreach (char c in s)
        {
            bool sep = c is '-' or '(' or '{' or '[' or '<' || char.IsWhiteSpace(c);
            if (sep) { sb.Append(c); atStart = true; continue; }
            sb.Append(atStart ? char.ToUpperInvariant(c) : char.ToLowerInvariant(c));
            atStart = false;
        }
        return sb.ToString();
    }

    public static List<string> SplitLines(string s)
    {
        var lines = new List<string>();
        int st = 0;
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c is '\n' or '\r' or '\v' or '\f' or '\x1c' or '\x1d' or '\x1e' or '\x85' or '\u2028' or '\u2029')
            {
                lines.Add(s[st..i]);
                if (c == '\r' && i + 1 < s.Length && s[i + 1] == '\n') i++;
                st = i + 1;
            }
        }
        if (st < s.Length) lines.Add(s[st..]);
        return lines;
    }
}
