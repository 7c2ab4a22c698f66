using System.Globalization;
using System.Text;
using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A regular expression (the common subset of Python's re, ECMAScript and .NET) as a grammar expression that matches
/// the whole output: literals and escapes, classes and their negation, ., groups, |, * + ? {n} {n,} {n,m} (lazy forms
/// are the same language), and ^ / $ at the ends. Lookarounds, backreferences, word boundaries and \p{...} are refused
/// by name. \d \w \s are their ASCII forms; \D \W \S and . stay within what every engine agrees on (ASCII complements,
/// any character but a newline). <see cref="Encode"/> turns each character set into bytes: plain UTF-8 for a regex over
/// the output, JSON string escapes for a JSON schema pattern.
/// </summary>
public sealed class RegexCompiler
{
    readonly int[] _cps;
    readonly Func<CodePointSet, GrammarExpr> _encode;
    readonly string _source;
    int _pos;

    RegexCompiler(string pattern, Func<CodePointSet, GrammarExpr> encode)
    {
        _source = pattern;
        var cps = new List<int>();
        foreach (var r in pattern.EnumerateRunes()) cps.Add(r.Value);
        _cps = cps.ToArray();
        _encode = encode;
    }

    /// <summary>The expression matching exactly the strings <paramref name="pattern"/> fully matches, as UTF-8 bytes.</summary>
    public static GrammarExpr Compile(string pattern) => Compile(pattern, s => s.ToUtf8());

    public static GrammarExpr Compile(string pattern, Func<CodePointSet, GrammarExpr> encode)
    {
        var c = new RegexCompiler(pattern, encode);
        if (c.Peek('^')) c._pos++;
        var e = c.ParseAlternation(topLevel: true);
        if (c._pos < c._cps.Length) throw c.Error("regex", $"unexpected '{char.ConvertFromUtf32(c._cps[c._pos])}'");
        return e;
    }

    GrammarException Error(string feature, string what) => new(feature, $"regex /{_source}/ at {_pos}: {what}");

    bool Peek(char c) => _pos < _cps.Length && _cps[_pos] == c;
    bool AtEnd => _pos >= _cps.Length;

    GrammarExpr ParseAlternation(bool topLevel)
    {
        var alts = new List<GrammarExpr> { ParseConcat(topLevel) };
        while (Peek('|'))
        {
            _pos++;
            alts.Add(ParseConcat(topLevel));
        }
        return Either(alts);
    }

    GrammarExpr ParseConcat(bool topLevel)
    {
        var items = new List<GrammarExpr>();
        while (!AtEnd && !Peek('|') && !Peek(')'))
        {
            if (Peek('$'))
            {
                // An end anchor is only meaningful at the very end (the whole output is matched anyway).
                _pos++;
                if (!(topLevel && (AtEnd || Peek('|')))) throw Error("regex anchors", "$ is supported only at the end of the pattern");
                continue;
            }
            if (Peek('^'))
            {
                if (!(topLevel && items.Count == 0)) throw Error("regex anchors", "^ is supported only at the start of the pattern");
                _pos++;
                continue;
            }
            items.Add(ParseRepeat(ParseAtom()));
        }
        return items.Count == 1 ? items[0] : new Seq(items);
    }

    GrammarExpr ParseRepeat(GrammarExpr atom)
    {
        while (!AtEnd)
        {
            int min, max;
            if (Peek('*')) { min = 0; max = -1; _pos++; }
            else if (Peek('+')) { min = 1; max = -1; _pos++; }
            else if (Peek('?')) { min = 0; max = 1; _pos++; }
            else if (Peek('{') && TryParseBraces(out min, out max)) { }
            else break;
            if (Peek('?') || Peek('+')) _pos++; // lazy or possessive: the same language
            atom = new Repeat(atom, min, max);
        }
        return atom;
    }

    bool TryParseBraces(out int min, out int max)
    {
        min = max = 0;
        int save = _pos;
        _pos++;
        int? a = ReadInt();
        if (a == null) { _pos = save; return false; }
        min = a.Value;
        max = min;
        if (Peek(','))
        {
            _pos++;
            max = ReadInt() ?? -1;
        }
        if (!Peek('}')) { _pos = save; return false; }
        _pos++;
        if (max != -1 && max < min) throw Error("regex", $"{{{min},{max}}} has max below min");
        if (Math.Max(min, max) > 10_000) throw Error("regex", "repetition counts above 10000 are not supported");
        return true;
    }

    int? ReadInt()
    {
        int start = _pos;
        long v = 0;
        while (!AtEnd && _cps[_pos] is >= '0' and <= '9') { v = Math.Min(v * 10 + (_cps[_pos] - '0'), int.MaxValue); _pos++; }
        return _pos == start ? null : (int)v;
    }

    GrammarExpr ParseAtom()
    {
        int c = _cps[_pos];
        switch (c)
        {
            case '(':
            {
                _pos++;
                if (Peek('?'))
                {
                    _pos++;
                    if (Peek(':')) _pos++;
                    else if (Peek('P') || (Peek('<') && _pos + 1 < _cps.Length && _cps[_pos + 1] is not ('=' or '!')))
                    {
                        if (Peek('P')) _pos++;
                        if (!Peek('<')) throw Error("regex", "unknown group syntax");
                        while (!AtEnd && !Peek('>')) _pos++;
                        _pos++;
                    }
                    else if (Peek('=') || Peek('!') || Peek('<')) throw Error("regex lookaround", "lookahead and lookbehind are not supported");
                    else throw Error("regex inline flags", "inline flags and other (?...) groups are not supported");
                }
                var inner = ParseAlternation(topLevel: false);
                if (!Peek(')')) throw Error("regex", "missing )");
                _pos++;
                return inner;
            }
            case '[': return _encode(ParseClass());
            case '.': _pos++; return _encode(CodePointSet.Char('\n').Complement());
            case '\\': return ParseEscapeAtom();
            case '*' or '+' or '?': throw Error("regex", $"nothing to repeat before '{(char)c}'");
            case '{' when IsBraceQuantifierAhead(): throw Error("regex", "nothing to repeat before '{'");
            default:
                _pos++;
                return _encode(CodePointSet.Char(c));
        }
    }

    bool IsBraceQuantifierAhead()
    {
        int save = _pos;
        bool q = TryParseBraces(out _, out _);
        _pos = save;
        return q;
    }

    GrammarExpr ParseEscapeAtom()
    {
        int save = _pos;
        _pos++;
        if (AtEnd) throw Error("regex", "trailing backslash");
        int c = _cps[_pos];
        if (c is >= '1' and <= '9') throw Error("regex backreferences", "backreferences are not supported");
        if (c is 'b' or 'B' or 'A' or 'Z' or 'z' or 'G') throw Error("regex anchors", $"\\{(char)c} is not supported");
        _pos = save;
        return _encode(ParseEscape(inClass: false));
    }

    /// <summary>An escape at _pos (the backslash) as a set of characters.</summary>
    CodePointSet ParseEscape(bool inClass)
    {
        _pos++;
        int c = _cps[_pos++];
        switch (c)
        {
            case 'd': return CodePointSet.Digit;
            case 'D': return CodePointSet.Digit.Complement(CodePointSet.Ascii);
            case 'w': return CodePointSet.Word;
            case 'W': return CodePointSet.Word.Complement(CodePointSet.Ascii);
            case 's': return CodePointSet.Space;
            case 'S': return CodePointSet.Space.Complement(CodePointSet.Ascii);
            case 'n': return CodePointSet.Char('\n');
            case 'r': return CodePointSet.Char('\r');
            case 't': return CodePointSet.Char('\t');
            case 'f': return CodePointSet.Char('\f');
            case 'v': return CodePointSet.Char('\v');
            case '0': return CodePointSet.Char(0);
            case 'b' when inClass: return CodePointSet.Char('\b');
            case 'x': return CodePointSet.Char(ReadHex(2));
            case 'u':
                if (Peek('{'))
                {
                    _pos++;
                    int start = _pos;
                    while (!AtEnd && !Peek('}')) _pos++;
                    var hex = string.Concat(_cps[start.._pos].Select(char.ConvertFromUtf32));
                    _pos++;
                    return CodePointSet.Char(int.Parse(hex, NumberStyles.HexNumber, CultureInfo.InvariantCulture));
                }
                return CodePointSet.Char(ReadHex(4));
            case 'p' or 'P': throw Error("regex unicode classes", $"\\{(char)c}{{...}} is not supported");
            default:
                if (c < 128 && char.IsLetterOrDigit((char)c)) throw Error("regex", $"unknown escape \\{(char)c}");
                return CodePointSet.Char(c);
        }
    }

    int ReadHex(int n)
    {
        if (_pos + n > _cps.Length) throw Error("regex", "truncated hex escape");
        var s = string.Concat(_cps[_pos..(_pos + n)].Select(char.ConvertFromUtf32));
        _pos += n;
        if (!int.TryParse(s, NumberStyles.HexNumber, CultureInfo.InvariantCulture, out int v)) throw Error("regex", $"bad hex escape '{s}'");
        return v;
    }

    CodePointSet ParseClass()
    {
        _pos++; // [
        bool negate = false;
        if (Peek('^')) { negate = true; _pos++; }
        var set = CodePointSet.Of();
        bool first = true;
        while (true)
        {
            if (AtEnd) throw Error("regex", "missing ]");
            if (Peek(']') && !first) { _pos++; break; }
            first = false;
            if (Peek('[') && _pos + 1 < _cps.Length && _cps[_pos + 1] == ':') throw Error("regex POSIX classes", "[:name:] classes are not supported");
            CodePointSet item;
            int lo = -1;
            if (Peek('\\'))
            {
                item = ParseEscape(inClass: true);
                if (item.Ranges.Count == 1 && item.Ranges[0].Lo == item.Ranges[0].Hi) lo = item.Ranges[0].Lo;
            }
            else
            {
                lo = _cps[_pos++];
                item = CodePointSet.Char(lo);
            }
            if (lo >= 0 && Peek('-') && _pos + 1 < _cps.Length && _cps[_pos + 1] != ']')
            {
                _pos++;
                int hi;
                if (Peek('\\'))
                {
                    var h = ParseEscape(inClass: true);
                    if (h.Ranges.Count != 1 || h.Ranges[0].Lo != h.Ranges[0].Hi) throw Error("regex", "a class range must end in one character");
                    hi = h.Ranges[0].Lo;
                }
                else hi = _cps[_pos++];
                if (hi < lo) throw Error("regex", "class range out of order");
                item = CodePointSet.Of((lo, hi));
            }
            set = set.Union(item);
        }
        return negate ? set.Complement() : set;
    }

    /// <summary>Escapes <paramref name="s"/> so it matches literally (for tests and for choices written as regexes).</summary>
    public static string Escape(string s)
    {
        var sb = new StringBuilder();
        foreach (var ch in s)
        {
            if ("\\^$.|?*+()[]{}/-".Contains(ch)) sb.Append('\\');
            sb.Append(ch);
        }
        return sb.ToString();
    }
}
