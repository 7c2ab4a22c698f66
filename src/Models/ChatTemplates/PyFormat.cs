using System.Globalization;
using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>Python's str(), repr(), float formatting and the % / str.format mini-languages.</summary>
internal static class PyFormat
{
    private static readonly CultureInfo Inv = CultureInfo.InvariantCulture;

    public static string Str(object? v) => v switch
    {
        null => "None",
        string s => s,
        bool b => b ? "True" : "False",
        long l => l.ToString(Inv),
        double d => FloatRepr(d),
        Undefined => "",
        _ => Repr(v),
    };

    public static string Repr(object? v)
    {
        var sb = new StringBuilder();
        AppendRepr(sb, v);
        return sb.ToString();
    }

    private static void AppendRepr(StringBuilder sb, object? v)
    {
        switch (v)
        {
            case string s:
                AppendStrRepr(sb, s);
                break;
            case List<object?> l:
                sb.Append('[');
                for (int i = 0; i < l.Count; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, l[i]);
                }
                sb.Append(']');
                break;
            case object?[] t:
                sb.Append('(');
                for (int i = 0; i < t.Length; i++)
                {
                    if (i > 0) sb.Append(", ");
                    AppendRepr(sb, t[i]);
                }
                if (t.Length == 1) sb.Append(',');
                sb.Append(')');
                break;
            case PyDict d:
                sb.Append('{');
                bool first = true;
                foreach (var kv in d)
                {
                    if (!first) sb.Append(", ");
                    first = false;
                    AppendRepr(sb, kv.Key);
                    sb.Append(": ");
                    AppendRepr(sb, kv.Value);
                }
                sb.Append('}');
                break;
            case Undefined:
                sb.Append("Undefined");
                break;
            case Namespace ns:
                sb.Append("<Namespace ");
                AppendRepr(sb, ToDict(ns.Attrs));
                sb.Append('>');
                break;
            case LoopContext loop:
                sb.Append("<LoopContext ").Append(loop.Index0 + 1).Append('/').Append(PyFormat.Str(loop.Get("length"))).Append('>');
                break;
            case null or bool or long or double:
                sb.Append(Str(v));
                break;
            default:
                sb.Append(v.ToString());
                break;
        }
    }

    private static PyDict ToDict(Dictionary<string, object?> attrs)
    {
        var d = new PyDict();
        foreach (var kv in attrs) d[kv.Key] = kv.Value;
        return d;
    }

    private static void AppendStrRepr(StringBuilder sb, string s)
    {
        char q = s.Contains('\'') && !s.Contains('"') ? '"' : '\'';
        sb.Append(q);
        for (int i = 0; i < s.Length; i++)
        {
            char c = s[i];
            if (c == q || c == '\\') sb.Append('\\').Append(c);
            else if (c == '\n') sb.Append("\\n");
            else if (c == '\r') sb.Append("\\r");
            else if (c == '\t') sb.Append("\\t");
            else if (char.IsHighSurrogate(c) && i + 1 < s.Length && char.IsLowSurrogate(s[i + 1]))
            {
                sb.Append(c).Append(s[i + 1]);
                i++;
            }
            else if (IsPrintable(c)) sb.Append(c);
            else if (c < 0x100) sb.Append("\\x").Append(((int)c).ToString("x2", Inv));
            else sb.Append("\\u").Append(((int)c).ToString("x4", Inv));
        }
        sb.Append(q);
    }

    private static bool IsPrintable(char c)
    {
        if (c == ' ') return true;
        if (c < 0x20 || c == 0x7f) return false;
        var cat = char.GetUnicodeCategory(c);
        return cat is not (UnicodeCategory.Control or UnicodeCategory.Format or UnicodeCategory.Surrogate
            or UnicodeCategory.PrivateUse or UnicodeCategory.OtherNotAssigned or UnicodeCategory.LineSeparator
            or UnicodeCategory.ParagraphSeparator or UnicodeCategory.SpaceSeparator);
    }

    /// <summary>repr(float): shortest round-trip digits, exponent form outside 1e-4 &lt;= |x| &lt; 1e16.</summary>
    public static string FloatRepr(double d)
    {
        if (double.IsNaN(d)) return "nan";
        if (double.IsPositiveInfinity(d)) return "inf";
        if (double.IsNegativeInfinity(d)) return "-inf";
        if (d == 0) return double.IsNegative(d) ? "-0.0" : "0.0";
        var (digits, decpt) = ShortestDigits(Math.Abs(d));
        var sb = new StringBuilder();
        if (d < 0) sb.Append('-');
        if (decpt > -4 && decpt <= 16)
        {
            if (decpt <= 0) sb.Append("0.").Append('0', -decpt).Append(digits);
            else if (decpt >= digits.Length) sb.Append(digits).Append('0', decpt - digits.Length).Append(".0");
            else sb.Append(digits, 0, decpt).Append('.').Append(digits, decpt, digits.Length - decpt);
        }
        else
        {
            sb.Append(digits[0]);
            if (digits.Length > 1) sb.Append('.').Append(digits, 1, digits.Length - 1);
            int exp = decpt - 1;
            sb.Append('e').Append(exp < 0 ? '-' : '+').Append(Math.Abs(exp).ToString("00", Inv));
        }
        return sb.ToString();
    }

    // Significant digits (no leading/trailing zeros) and the decimal point position relative to them.
    private static (string Digits, int DecPt) ShortestDigits(double x)
    {
        string r = x.ToString("R", Inv);
        int e = r.IndexOfAny(['E', 'e']);
        int exp = 0;
        string mant = r;
        if (e >= 0)
        {
            exp = int.Parse(r.AsSpan(e + 1), NumberStyles.AllowLeadingSign, Inv);
            mant = r[..e];
        }
        int dot = mant.IndexOf('.');
        string digits = dot >= 0 ? mant.Remove(dot, 1) : mant;
        int decpt = (dot >= 0 ? dot : mant.Length) + exp;
        int lead = 0;
        while (lead < digits.Length - 1 && digits[lead] == '0') lead++;
        digits = digits[lead..];
        decpt -= lead;
        digits = digits.TrimEnd('0');
        if (digits.Length == 0) digits = "0";
        return (digits, decpt);
    }

    // ---- printf-style: "fmt" % args ----

    public static string Percent(string fmt, object? args)
    {
        IReadOnlyList<object?> list = args is object?[] t ? t : [args];
        var dict = args as PyDict;
        int ai = 0;
        var sb = new StringBuilder();
        for (int i = 0; i < fmt.Length; i++)
        {
            char c = fmt[i];
            if (c != '%') { sb.Append(c); continue; }
            if (++i >= fmt.Length) throw new RenderError("incomplete format");
            object? arg;
            bool fromDict = false;
            if (fmt[i] == '(')
            {
                int close = fmt.IndexOf(')', i);
                if (close < 0 || dict == null) throw new RenderError("format requires a mapping");
                var key = fmt[(i + 1)..close];
                arg = dict.TryGetValue(key, out var dv) ? dv : throw new RenderError($"KeyError: '{key}'");
                fromDict = true;
                i = close + 1;
            }
            else arg = null;
            string flags = "";
            while (i < fmt.Length && "-+ 0#".Contains(fmt[i])) flags += fmt[i++];
            int? width = null, prec = null;
            int ws = i;
            while (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
            if (i > ws) width = int.Parse(fmt.AsSpan(ws, i - ws), Inv);
            if (i < fmt.Length && fmt[i] == '.')
            {
                int ps = ++i;
                while (i < fmt.Length && char.IsAsciiDigit(fmt[i])) i++;
                prec = i > ps ? int.Parse(fmt.AsSpan(ps, i - ps), Inv) : 0;
            }
            if (i >= fmt.Length) throw new RenderError("incomplete format");
            char conv = fmt[i];
            if (conv == '%') { sb.Append('%'); continue; }
            if (!fromDict)
            {
                if (ai >= list.Count) throw new RenderError("not enough arguments for format string");
                arg = list[ai++];
            }
            string body = conv switch
            {
                's' => Str(arg),
                'r' or 'a' => Repr(arg),
                'd' or 'i' or 'u' => IntStr(arg, flags),
                'f' or 'F' => SignNum(PyOps.ToDouble(arg), flags, v => v.ToString("F" + (prec ?? 6), Inv)),
                'e' or 'E' => SignNum(PyOps.ToDouble(arg), flags, v => ExpStr(v, prec ?? 6, conv)),
                'g' or 'G' => SignNum(PyOps.ToDouble(arg), flags, v => GeneralStr(v, prec ?? 6)),
                'x' => SignNum(PyOps.AsLong(arg), flags, v => ((long)v).ToString("x", Inv)),
                'X' => SignNum(PyOps.AsLong(arg), flags, v => ((long)v).ToString("X", Inv)),
                'o' => SignNum(PyOps.AsLong(arg), flags, v => Convert.ToString((long)v, 8)),
                'c' => arg is string cs ? cs : char.ConvertFromUtf32((int)PyOps.AsLong(arg)),
                _ => throw new RenderError($"unsupported format character '{conv}'"),
            };
            if (conv == 's' && prec is int p && body.Length > p) body = body[..p];
            sb.Append(Pad(body, width, flags.Contains('-') ? '<' : '>', flags.Contains('0') && conv != 's' && !flags.Contains('-') ? '0' : ' '));
        }
        // Python skips this check when the argument supports item access (dict, list).
        if (ai < list.Count && args is not (PyDict or List<object?>))
            throw new RenderError("not all arguments converted during string formatting");
        return sb.ToString();
    }

    private static string IntStr(object? arg, string flags)
    {
        long v = arg is double d ? (long)Math.Truncate(d) : PyOps.AsLong(arg);
        return SignNum(v, flags, x => ((long)x).ToString(Inv).TrimStart('-'));
    }

    private static string SignNum(double v, string flags, Func<double, string> fmt)
    {
        string body = fmt(Math.Abs(v));
        string sign = v < 0 || double.IsNegative(v) && v != 0 ? "-" : flags.Contains('+') ? "+" : flags.Contains(' ') ? " " : "";
        return sign + body;
    }

    private static string ExpStr(double v, int prec, char conv)
    {
        string s = v.ToString((conv == 'E' ? "E" : "e") + prec, Inv);
        // .NET writes three exponent digits; Python uses at least two.
        int e = s.IndexOfAny(['e', 'E']);
        string mant = s[..(e + 2)];
        string exp = s[(e + 2)..].TrimStart('0');
        return mant + exp.PadLeft(2, '0');
    }

    private static string GeneralStr(double v, int prec)
    {
        if (prec == 0) prec = 1;
        if (v == 0) return "0";
        int exp = (int)Math.Floor(Math.Log10(Math.Abs(v)));
        if (exp < -4 || exp >= prec)
        {
            var s = ExpStr(v, prec - 1, 'e');
            int e = s.IndexOf('e');
            var mant = s[..e];
            if (mant.Contains('.')) mant = mant.TrimEnd('0').TrimEnd('.');
            return mant + s[e..];
        }
        var f = v.ToString("F" + Math.Max(0, prec - 1 - exp), Inv);
        if (f.Contains('.')) f = f.TrimEnd('0').TrimEnd('.');
        return f;
    }

    private static string Pad(string s, int? width, char align, char fill)
    {
        if (width is not int w || s.Length >= w) return s;
        PyOps.Size(w);
        if (fill == '0' && align == '>' && s.Length > 0 && s[0] is '-' or '+' or ' ')
            return s[0] + s[1..].PadLeft(w - 1, '0');
        return align switch
        {
            '<' => s.PadRight(w, fill),
            '^' => s.PadLeft(s.Length + (w - s.Length) / 2, fill).PadRight(w, fill),
            _ => s.PadLeft(w, fill),
        };
    }

    // ---- str.format ----

    public static string StrFormat(string fmt, Arguments args)
    {
        var sb = new StringBuilder();
        int auto = 0;
        for (int i = 0; i < fmt.Length; i++)
        {
            char c = fmt[i];
            if (c == '}' && i + 1 < fmt.Length && fmt[i + 1] == '}') { sb.Append('}'); i++; continue; }
            if (c != '{') { sb.Append(c); continue; }
            if (i + 1 < fmt.Length && fmt[i + 1] == '{') { sb.Append('{'); i++; continue; }
            int close = fmt.IndexOf('}', i);
            if (close < 0) throw new RenderError("Single '{' encountered in format string");
            string field = fmt[(i + 1)..close];
            i = close;
            string spec = "";
            char? conv = null;
            int colon = field.IndexOf(':');
            if (colon >= 0) { spec = field[(colon + 1)..]; field = field[..colon]; }
            int bang = field.IndexOf('!');
            if (bang >= 0) { conv = field[bang + 1]; field = field[..bang]; }
            object? value;
            if (field.Length == 0) value = args.Required(auto++, "", "format");
            else if (int.TryParse(field, NumberStyles.None, Inv, out int idx)) value = args.Required(idx, "", "format");
            else
            {
                var parts = field.Split('.');
                value = args.TryGet(-1, parts[0], out var nv) ? nv : throw new RenderError($"KeyError: '{parts[0]}'");
                foreach (var p in parts.Skip(1)) value = PyOps.GetAttr(value, p);
            }
            sb.Append(FormatSpec(conv == 'r' ? Repr(value) : conv == 's' ? Str(value) : value, spec));
        }
        return sb.ToString();
    }

    public static string FormatSpec(object? value, string spec)
    {
        if (spec.Length == 0) return Str(value);
        int i = 0;
        char fill = ' ';
        char? align = null;
        if (spec.Length >= 2 && spec[1] is '<' or '>' or '^' or '=') { fill = spec[0]; align = spec[1]; i = 2; }
        else if (spec[0] is '<' or '>' or '^' or '=') { align = spec[0]; i = 1; }
        string flags = "";
        if (i < spec.Length && spec[i] is '+' or '-' or ' ') flags += spec[i++];
        if (i < spec.Length && spec[i] == '0') { if (align == null) { fill = '0'; align = '='; } i++; }
        int ws = i;
        while (i < spec.Length && char.IsAsciiDigit(spec[i])) i++;
        int? width = i > ws ? int.Parse(spec.AsSpan(ws, i - ws), Inv) : null;
        bool comma = false;
        if (i < spec.Length && spec[i] == ',') { comma = true; i++; }
        int? prec = null;
        if (i < spec.Length && spec[i] == '.')
        {
            int ps = ++i;
            while (i < spec.Length && char.IsAsciiDigit(spec[i])) i++;
            prec = int.Parse(spec.AsSpan(ps, i - ps), Inv);
        }
        char type = i < spec.Length ? spec[i] : '\0';
        string body = type switch
        {
            'f' or 'F' => SignNum(PyOps.ToDouble(value), flags, v => v.ToString((comma ? "N" : "F") + (prec ?? 6), Inv)),
            'e' or 'E' => SignNum(PyOps.ToDouble(value), flags, v => ExpStr(v, prec ?? 6, type)),
            'g' or 'G' => SignNum(PyOps.ToDouble(value), flags, v => GeneralStr(v, prec ?? 6)),
            'd' => SignNum(PyOps.AsLong(value), flags, v => ((long)v).ToString(comma ? "N0" : "D", Inv)),
            'x' => ((long)PyOps.AsLong(value)).ToString("x", Inv),
            'X' => ((long)PyOps.AsLong(value)).ToString("X", Inv),
            '%' => SignNum(PyOps.ToDouble(value) * 100, flags, v => v.ToString("F" + (prec ?? 6), Inv)) + "%",
            _ => value is string s ? (prec is int p && s.Length > p ? s[..p] : s)
                : value is long l && comma ? l.ToString("N0", Inv)
                : value is double dd && prec is int pp ? GeneralStr(dd, pp)
                : Str(value),
        };
        char al = align ?? (value is string || type == '\0' && value is not (long or double) ? '<' : '>');
        if (al == '=') return width is int w2 && body.Length < w2 ? Pad(body, w2, '>', '0') : body;
        return Pad(body, width, al, fill);
    }
}
