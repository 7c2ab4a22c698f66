using System.Globalization;
using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// The JSON pieces every JSON constraint shares, as rules of one <see cref="GrammarBuilder"/>: whitespace, strings
/// (characters as JSON text: UTF-8, or escapes; lone surrogates cannot be written), numbers, integer ranges and any
/// value. Whitespace between tokens is one space, or a newline and up to <see cref="MaxIndent"/> spaces: pretty
/// printing fits, and a sampled document cannot drift into unbounded whitespace. Unbounded integers have at most
/// 19 digits and fractions at most 15, for the same reason.
/// </summary>
public sealed class JsonGrammar(GrammarBuilder builder)
{
    public const int MaxIndent = 32;
    public GrammarBuilder Builder { get; } = builder;
    int _ws = -1, _string = -1, _value = -1, _char = -1, _number = -1, _integer = -1;

    static readonly CodePointSet Unescaped = CodePointSet.Of((0x20, CodePointSet.MaxCodePoint)).Except(CodePointSet.Of(('"', '"'), ('\\', '\\')));

    public GrammarExpr Ws => new Ref(_ws >= 0 ? _ws : _ws = Builder.Add("ws",
        Optional(Either(Lit(" "), Of(Lit("\n"), new Repeat(Lit(" "), 0, MaxIndent))))));

    /// <summary>One character of a JSON string's text, from <paramref name="set"/> (characters as decoded).</summary>
    public static GrammarExpr StringChars(CodePointSet set)
    {
        var alts = new List<GrammarExpr>();
        var plain = set.Intersect(Unescaped);
        if (!plain.IsEmpty) alts.Add(plain.ToUtf8());
        if (set.Contains('"')) alts.Add(Lit("\\\""));
        if (set.Contains('\\')) alts.Add(Lit("\\\\"));
        foreach (var (c, esc) in new[] { ('\n', "\\n"), ('\t', "\\t"), ('\r', "\\r"), ('\b', "\\b"), ('\f', "\\f") })
            if (set.Contains(c)) alts.Add(Lit(esc));
        if (alts.Count == 0) throw new GrammarException("pattern", "a character class matches no character a JSON string can hold");
        return Either(alts);
    }

    /// <summary>Any one character of a JSON string (counted once for minLength/maxLength).</summary>
    public GrammarExpr Char => new Ref(_char >= 0 ? _char : _char = Builder.Add("json_char", Either(
        Unescaped.ToUtf8(),
        Of(Lit("\\"), Either(new Set(ByteSetOf("\"\\/bfnrt")),
            Of(Lit("u"), Either(
                Of(new Set(ByteSetOf("0123456789abcABCefEF")), Hex, Hex, Hex),
                Of(new Set(ByteSetOf("dD")), Range('0', '7'), Hex, Hex))))))));

    static GrammarExpr Hex => new Set(ByteSetOf("0123456789abcdefABCDEF"));

    public GrammarExpr String => new Ref(_string >= 0 ? _string : _string = Builder.Add("json_string", Of(Lit("\""), Star(Char), Lit("\""))));

    public GrammarExpr StringWithLength(int min, int max) => Of(Lit("\""), new Repeat(Char, min, max), Lit("\""));

    static GrammarExpr Digits(int min, int max) => new Repeat(Range('0', '9'), min, max);

    public GrammarExpr Integer => new Ref(_integer >= 0 ? _integer : _integer = Builder.Add("json_integer",
        Of(Optional(Lit("-")), Either(Lit("0"), Of(Range('1', '9'), Digits(0, 18))))));

    public GrammarExpr Number => new Ref(_number >= 0 ? _number : _number = Builder.Add("json_number", Of(Integer,
        Optional(Of(Lit("."), Digits(1, 15))),
        Optional(Of(new Set(ByteSetOf("eE")), Optional(new Set(ByteSetOf("+-"))), Digits(1, 3))))));

    /// <summary>Any JSON value.</summary>
    public GrammarExpr Value
    {
        get
        {
            if (_value >= 0) return new Ref(_value);
            _value = Builder.Declare("json_value");
            Builder.Define(_value, Either(AnyObject(), AnyArray(), String, Number, Lit("true"), Lit("false"), Lit("null")));
            return new Ref(_value);
        }
    }

    public GrammarExpr AnyObject(GrammarExpr? valueSchema = null)
    {
        var member = Of(String, Ws, Lit(":"), Ws, valueSchema ?? Value);
        return Of(Lit("{"), Ws, Optional(Of(member, Star(Of(Ws, Lit(","), Ws, member)))), Ws, Lit("}"));
    }

    public GrammarExpr AnyArray() => Array(Value, 0, -1);

    public GrammarExpr Array(GrammarExpr item, int min, int max)
    {
        var more = Of(Ws, Lit(","), Ws, item);
        GrammarExpr items;
        if (max == 0) items = Empty;
        else
        {
            var nonEmpty = Of(item, new Repeat(more, Math.Max(0, min - 1), max < 0 ? -1 : max - 1));
            items = min == 0 ? Optional(nonEmpty) : nonEmpty;
        }
        return Of(Lit("["), Ws, items, Ws, Lit("]"));
    }

    /// <summary>Integers in [min, max] (null: unbounded; unbounded sides keep the 19-digit cap).</summary>
    public static GrammarExpr IntegerRange(long? min, long? max)
    {
        const long cap = 999_999_999_999_999_999;
        long lo = Math.Max(min ?? -cap, -cap), hi = Math.Min(max ?? cap, cap);
        if (lo > hi) throw new GrammarException("minimum/maximum", $"no integer lies between minimum {min} and maximum {max}");
        var alts = new List<GrammarExpr>();
        if (hi >= 0) alts.Add(NonNegative(Math.Max(lo, 0), hi));
        if (lo < 0) alts.Add(Of(Lit("-"), NonNegative(Math.Max(1, -Math.Min(hi, -1)), -lo)));
        return Either(alts);
    }

    /// <summary>Decimal numerals (no leading zeros) of the integers in [lo, hi], 0 &lt;= lo &lt;= hi.</summary>
    static GrammarExpr NonNegative(long lo, long hi)
    {
        var alts = new List<GrammarExpr>();
        int dl = lo.ToString(CultureInfo.InvariantCulture).Length, dh = hi.ToString(CultureInfo.InvariantCulture).Length;
        for (int len = dl; len <= dh; len++)
        {
            long first = len == 1 ? 0 : Pow10(len - 1), last = Pow10(len) - 1;
            long a = Math.Max(lo, first), b = Math.Min(hi, last);
            if (a <= b) alts.Add(SameLength(a.ToString(CultureInfo.InvariantCulture), b.ToString(CultureInfo.InvariantCulture)));
        }
        return Either(alts);
    }

    static long Pow10(int n)
    {
        long v = 1;
        for (int i = 0; i < n; i++) v = v > long.MaxValue / 10 ? long.MaxValue : v * 10;
        return v;
    }

    static GrammarExpr SameLength(string a, string b)
    {
        if (a.Length == 1) return Range(a[0], b[0]);
        if (a[0] == b[0]) return Of(Lit(a[..1]), SameLength(a[1..], b[1..]));
        var alts = new List<GrammarExpr>
        {
            Of(Lit(a[..1]), SameLength(a[1..], new string('9', a.Length - 1))),
        };
        if (b[0] - a[0] > 1) alts.Add(Of(Range((char)(a[0] + 1), (char)(b[0] - 1)), Digits(a.Length - 1, a.Length - 1)));
        alts.Add(Of(Lit(b[..1]), SameLength(new string('0', a.Length - 1), b[1..])));
        return Either(alts);
    }

    /// <summary>
    /// Numbers within bounds: the integers in range, plus k.f (f ending in a nonzero digit, so strictly between k and
    /// k+1) for each k whose whole open interval lies in range, on both sides of zero. No exponents.
    /// </summary>
    public static GrammarExpr NumberRange(double? min, bool minExclusive, double? max, bool maxExclusive)
    {
        const double cap = 999_999_999_999_999_999d;
        long? iMin = min is double a ? (long)Math.Clamp(minExclusive && Math.Floor(a) == a ? a + 1 : Math.Ceiling(a), -cap, cap) : null;
        long? iMax = max is double b ? (long)Math.Clamp(maxExclusive && Math.Floor(b) == b ? b - 1 : Math.Floor(b), -cap, cap) : null;
        var alts = new List<GrammarExpr>();
        var fraction = Of(Lit("."), Digits(0, 14), Range('1', '9'));
        if (iMin == null || iMax == null || iMin <= iMax) alts.Add(IntegerRange(iMin, iMax));
        // Positive k.f in (k, k+1): k >= min and k + 1 <= max.
        long pLo = Math.Max(0, min is double m1 ? (long)Math.Clamp(Math.Ceiling(m1), -cap, cap) : 0);
        long? pHi = max is double m2 ? (long)Math.Clamp(Math.Floor(m2) - 1, -cap, cap) : null;
        if (pHi == null || pLo <= pHi) alts.Add(Of(NonNegative(pLo, pHi ?? (long)cap), fraction));
        // Negative -k.f in (-(k+1), -k): -k <= max and -(k+1) >= min.
        long nLo = Math.Max(0, max is double m3 ? (long)Math.Clamp(Math.Ceiling(-m3), -cap, cap) : 0);
        long? nHi = min is double m4 ? (long)Math.Clamp(Math.Floor(-m4) - 1, -cap, cap) : null;
        if (nHi == null || nLo <= nHi) alts.Add(Of(Lit("-"), NonNegative(nLo, nHi ?? (long)cap), fraction));
        if (alts.Count == 0) throw new GrammarException("minimum/maximum", $"no number lies between minimum {min} and maximum {max}");
        return Either(alts);
    }

    public static ByteSet ByteSetOf(string chars)
    {
        var s = new ByteSet();
        foreach (var c in chars) s = s.Union(ByteSet.Single((byte)c));
        return s;
    }
}
