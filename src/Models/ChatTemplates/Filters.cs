using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>jinja2's built-in filters, plus transformers' tojson.</summary>
internal static class Filters
{
    private delegate object? Filter(object? value, Arguments args);

    private static readonly Dictionary<string, Filter> Table = new()
    {
        ["abs"] = (v, _) => v switch
        {
            long l => (object)Math.Abs(l),
            double d => Math.Abs(d),
            bool b => b ? 1L : 0L,
            _ => throw new RenderError($"bad operand type for abs(): '{PyOps.TypeName(v)}'"),
        },
        ["attr"] = (v, a) => Methods.Bind(v, Str(a.Required(0, "name", "attr"))) ?? (v is Namespace or LoopContext ? PyOps.GetAttr(v, Str(a.Get(0, "name"))) : new Undefined($"'{PyOps.TypeName(v)} object' has no attribute '{Str(a.Get(0, "name"))}'")),
        ["batch"] = Batch,
        ["capitalize"] = (v, _) => PyStr.Capitalize(Str(v)),
        ["center"] = (v, a) => PyStr.Center(Str(v), PyOps.AsLong(a.Get(0, "width", 80L)), " "),
        ["count"] = (v, _) => PyOps.Length(v),
        ["length"] = (v, _) => PyOps.Length(v),
        ["d"] = Default,
        ["default"] = Default,
        ["dictsort"] = DictSort,
        ["e"] = (v, _) => Escape(Str(v)),
        ["escape"] = (v, _) => Escape(Str(v)),
        ["forceescape"] = (v, _) => Escape(Str(v)),
        ["first"] = (v, _) => PyOps.Iterate(v).Take(1).ToList() is [var x] ? x : new Undefined("No first item, sequence was empty."),
        ["last"] = (v, _) => PyOps.Iterate(v).ToList() is { Count: > 0 } l ? l[^1] : new Undefined("No last item, sequence was empty."),
        ["float"] = (v, a) => v is Undefined u ? throw u.Fail() : ToFloat(v, a.Get(0, "default", 0.0)),
        ["int"] = (v, a) => v is Undefined u ? throw u.Fail() : ToInt(v, a.Get(0, "default", 0L), PyOps.AsLong(a.Get(1, "base", 10L))),
        ["format"] = (v, a) => a.Named.Count > 0
            ? PyFormat.Percent(Str(v), NamedDict(a))
            : PyFormat.Percent(Str(v), a.Positional.ToArray()),
        ["indent"] = Indent,
        ["items"] = (v, _) => v switch
        {
            Undefined => new List<object?>(),
            PyDict d => d.Select(kv => (object?)new object?[] { kv.Key, kv.Value }).ToList(),
            _ => throw new RenderError("Can only get item pairs from a mapping."),
        },
        ["join"] = (v, a) =>
        {
            var items = PyOps.Iterate(v);
            if (a.Get(1, "attribute") is { } attr and not Undefined) items = items.Select(Getter(attr));
            return string.Join(Str(a.Get(0, "d", "")), items.Select(PyFormat.Str));
        },
        ["list"] = (v, _) => PyOps.Iterate(v).ToList(),
        ["lower"] = (v, _) => Str(v).ToLowerInvariant(),
        ["upper"] = (v, _) => Str(v).ToUpperInvariant(),
        ["map"] = Map,
        ["max"] = (v, a) => MinMax(v, a, true),
        ["min"] = (v, a) => MinMax(v, a, false),
        ["reject"] = (v, a) => Select(v, a, attr: false, keep: false),
        ["rejectattr"] = (v, a) => Select(v, a, attr: true, keep: false),
        ["select"] = (v, a) => Select(v, a, attr: false, keep: true),
        ["selectattr"] = (v, a) => Select(v, a, attr: true, keep: true),
        ["replace"] = (v, a) => Methods.Replace(Str(v), Str(a.Required(0, "old", "replace")), Str(a.Required(1, "new", "replace")),
            a.Get(2, "count") is { } c and not Undefined ? PyOps.AsLong(c) : -1),
        ["reverse"] = (v, _) => v is string s ? PyStr.FromCodePoints(PyStr.CodePoints(s).Reverse()) : PyOps.Iterate(v).Reverse().ToList(),
        ["round"] = Round,
        ["safe"] = (v, _) => Str(v),
        ["sort"] = Sort,
        ["string"] = (v, _) => Str(v),
        ["sum"] = (v, a) =>
        {
            var items = PyOps.Iterate(v);
            if (a.Get(0, "attribute") is { } attr and not Undefined) items = items.Select(Getter(attr));
            return items.Aggregate(a.Get(1, "start", 0L), (acc, x) => PyOps.Binary("+", acc, x));
        },
        ["title"] = (v, _) => PyStr.JinjaTitle(Str(v)),
        ["tojson"] = (v, a) =>
        {
            string? itemSep = null, keySep = null;
            if (a.Get(2, "separators") is { } seps and not (Undefined or null))
            {
                var pair = PyOps.AsSeq(seps) ?? throw new RenderError("separators must be a pair of strings");
                itemSep = Str(pair[0]);
                keySep = Str(pair[1]);
            }
            return JsonValues.Dumps(v, PyOps.Truthy(a.Get(0, "ensure_ascii", false)), a.Get(1, "indent"), itemSep, keySep,
                PyOps.Truthy(a.Get(3, "sort_keys", false)));
        },
        ["trim"] = (v, a) => PyStr.Strip(Str(v), a.Get(0, "chars"), true, true),
        ["truncate"] = Truncate,
        ["unique"] = Unique,
        ["wordcount"] = (v, _) => WordCount(Str(v)),
    };

    public static bool Exists(string name) => Table.ContainsKey(name);

    public static object? Apply(string name, object? value, Arguments args)
    {
        if (!Table.TryGetValue(name, out var f)) throw new RenderError($"No filter named '{name}'.");
        return f(value, args);
    }

    private static string Str(object? v) => PyFormat.Str(v);

    private static PyDict NamedDict(Arguments a)
    {
        var d = new PyDict();
        foreach (var kv in a.Named) d[kv.Key] = kv.Value;
        return d;
    }

    private static object? Default(object? v, Arguments a)
    {
        var fallback = a.Get(0, "default_value", "");
        bool boolean = PyOps.Truthy(a.Get(1, "boolean", false));
        if (v is Undefined || (boolean && !PyOps.Truthy(v))) return fallback;
        return v;
    }

    public static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (char c in s)
            sb.Append(c switch
            {
                '&' => "&amp;",
                '<' => "&lt;",
                '>' => "&gt;",
                '"' => "&#34;",
                '\'' => "&#39;",
                _ => c.ToString(),
            });
        return sb.ToString();
    }

    /// <summary>jinja2's attribute getter: "a.b.0" walks item lookups, digits becoming indices.</summary>
    public static Func<object?, object?> Getter(object? attribute, object? fallback = null)
    {
        if (attribute is long idx) return v => PyOps.GetItem(v, idx);
        var parts = Str(attribute).Split('.');
        return v =>
        {
            foreach (var p in parts)
            {
                v = long.TryParse(p, out long n) ? PyOps.GetItem(v, n) : PyOps.GetItem(v, p);
                if (v is Undefined) return fallback ?? v;
            }
            return v;
        };
    }

    private static object? ToFloat(object? v, object? fallback)
    {
        switch (v)
        {
            case double d: return d;
            case long l: return (double)l;
            case bool b: return b ? 1.0 : 0.0;
            case string s:
                var t = s.Trim().ToLowerInvariant();
                if (t is "inf" or "+inf" or "infinity") return double.PositiveInfinity;
                if (t is "-inf" or "-infinity") return double.NegativeInfinity;
                if (t == "nan") return double.NaN;
                return double.TryParse(t.Replace("_", ""), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var r) ? r : fallback;
            default: return fallback;
        }
    }

    private static object? ToInt(object? v, object? fallback, long numBase)
    {
        switch (v)
        {
            case long l: return l;
            case bool b: return b ? 1L : 0L;
            case double d: return double.IsFinite(d) ? (long)Math.Truncate(d) : fallback;
            case string s:
                var t = s.Trim().Replace("_", "");
                try
                {
                    if (numBase == 10 && long.TryParse(t, System.Globalization.NumberStyles.AllowLeadingSign, System.Globalization.CultureInfo.InvariantCulture, out var r)) return r;
                    if (numBase != 10)
                    {
                        bool neg = t.StartsWith('-');
                        var body = t.TrimStart('-', '+');
                        if (body.Length > 2 && body[0] == '0' && char.IsLetter(body[1])) body = body[2..];
                        var val = Convert.ToInt64(body, (int)numBase);
                        return neg ? -val : val;
                    }
                }
                catch (Exception e) when (e is FormatException or ArgumentException or OverflowException)
                {
                    return fallback;
                }
                return ToFloat(t, null) is double f && double.IsFinite(f) ? (long)Math.Truncate(f) : fallback;
            default: return fallback;
        }
    }

    private static object? Indent(object? v, Arguments a)
    {
        var w = a.Get(0, "width", 4L);
        string ind = w is string ws ? ws : new string(' ', PyOps.Size(PyOps.AsLong(w)));
        bool first = PyOps.Truthy(a.Get(1, "first", false));
        bool blank = PyOps.Truthy(a.Get(2, "blank", false));
        var lines = PyStr.SplitLines(Str(v) + "\n");
        string rv;
        if (blank) rv = string.Join("\n" + ind, lines);
        else
        {
            rv = lines[0];
            if (lines.Count > 1) rv += "\n" + string.Join("\n", lines.Skip(1).Select(l => l.Length > 0 ? ind + l : l));
        }
        return first ? ind + rv : rv;
    }

    private static object? Batch(object? v, Arguments a)
    {
        long n = PyOps.AsLong(a.Required(0, "linecount", "batch"));
        if (n <= 0) throw new RenderError("batch size must be positive");
        bool fill = a.TryGet(1, "fill_with", out var filler) && filler is not null;
        var result = new List<object?>();
        List<object?>? cur = null;
        foreach (var x in PyOps.Iterate(v))
        {
            cur ??= [];
            cur.Add(x);
            if (cur.Count == n) { result.Add(cur); cur = null; }
        }
        if (cur != null)
        {
            if (fill) while (cur.Count < n) cur.Add(filler);
            result.Add(cur);
        }
        return result;
    }

    private static object? SortKey(object? x, bool caseSensitive) =>
        !caseSensitive && x is string s ? s.ToLowerInvariant() : x;

    private static Comparer<object?> PyComparer { get; } = Comparer<object?>.Create((a, b) => PyOps.Compare(a, b));

    private static object? DictSort(object? v, Arguments a)
    {
        if (v is not PyDict d) throw new RenderError("You can only sort by either \"key\" or \"value\"");
        bool cs = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var by = Str(a.Get(1, "by", "key"));
        bool rev = PyOps.Truthy(a.Get(2, "reverse", false));
        int pos = by switch
        {
            "key" => 0,
            "value" => 1,
            _ => throw new RenderError("You can only sort by either \"key\" or \"value\""),
        };
        var items = d.Select(kv => new object?[] { kv.Key, kv.Value });
        var sorted = rev ? items.OrderByDescending(t => SortKey(t[pos], cs), PyComparer) : items.OrderBy(t => SortKey(t[pos], cs), PyComparer);
        return sorted.Select(t => (object?)t).ToList();
    }

    private static object? Sort(object? v, Arguments a)
    {
        bool rev = PyOps.Truthy(a.Get(0, "reverse", false));
        bool cs = PyOps.Truthy(a.Get(1, "case_sensitive", false));
        var attr = a.Get(2, "attribute");
        var getters = attr is null or Undefined
            ? [x => x]
            : Str(attr).Split(',').Select(p => Getter(p.Trim())).ToArray();
        // With attributes jinja2 compares lists of values, so equal (even undefined) keys never need ordering.
        object? Key(object? x) => attr is null or Undefined ? SortKey(x, cs) : getters.Select(g => SortKey(g(x), cs)).ToArray();
        var items = PyOps.Iterate(v);
        return (rev ? items.OrderByDescending(Key, PyComparer) : items.OrderBy(Key, PyComparer)).ToList();
    }

    private static object? Unique(object? v, Arguments a)
    {
        bool cs = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attr = a.Get(1, "attribute");
        var get = attr is null or Undefined ? (x => x) : Getter(attr);
        var seen = new List<object?>();
        var result = new List<object?>();
        foreach (var x in PyOps.Iterate(v))
        {
            var k = SortKey(get(x), cs);
            if (seen.Any(s => PyOps.Equal(s, k))) continue;
            seen.Add(k);
            result.Add(x);
        }
        return result;
    }

    private static object? MinMax(object? v, Arguments a, bool max)
    {
        bool cs = PyOps.Truthy(a.Get(0, "case_sensitive", false));
        var attr = a.Get(1, "attribute");
        var get = attr is null or Undefined ? (x => x) : Getter(attr);
        var items = PyOps.Iterate(v).ToList();
        if (items.Count == 0) return new Undefined($"No aggregated item, sequence was empty.");
        var best = items[0];
        foreach (var x in items.Skip(1))
        {
            int c = PyOps.Compare(SortKey(get(x), cs), SortKey(get(best), cs));
            if (max ? c > 0 : c < 0) best = x;
        }
        return best;
    }

    private static object? Round(object? v, Arguments a)
    {
        int precision = (int)PyOps.AsLong(a.Get(0, "precision", 0L));
        var method = Str(a.Get(1, "method", "common"));
        if (method == "common")
        {
            if (v is long or bool) return PyOps.AsLong(v);
            return Math.Round(PyOps.ToDouble(v), precision, MidpointRounding.ToEven);
        }
        double f = Math.Pow(10, precision);
        double x = PyOps.ToDouble(v) * f;
        return method switch
        {
            "ceil" => Math.Ceiling(x) / f,
            "floor" => Math.Floor(x) / f,
            _ => throw new RenderError("method must be common, ceil or floor"),
        };
    }

    private static object? Truncate(object? v, Arguments a)
    {
        var s = Str(v);
        int length = (int)PyOps.AsLong(a.Get(0, "length", 255L));
        bool killwords = PyOps.Truthy(a.Get(1, "killwords", false));
        var end = Str(a.Get(2, "end", "..."));
        int leeway = (int)PyOps.AsLong(a.Get(3, "leeway", 5L));
        if (s.Length <= length + leeway) return s;
        if (killwords) return s[..Math.Max(0, length - end.Length)] + end;
        var cut = s[..Math.Max(0, length - end.Length)];
        int sp = cut.LastIndexOf(' ');
        return (sp >= 0 ? cut[..sp] : cut) + end;
    }

    private static long WordCount(string s)
    {
        long n = 0;
        bool inWord = false;
        foreach (char c in s)
        {
            bool w = char.IsLetterOrDigit(c) || c == '_';
            if (w && !inWord) n++;
            inWord = w;
        }
        return n;
    }

    // jinja2's map/select family yield nothing for a falsy input (None included) instead of failing.
    private static IEnumerable<object?> IterateIfTruthy(object? v) => PyOps.Truthy(v) ? PyOps.Iterate(v) : [];

    private static object? Map(object? v, Arguments a)
    {
        var items = IterateIfTruthy(v);
        if (a.Count == 0 && a.TryGet(-1, "attribute", out var attr))
        {
            var get = Getter(attr, a.Get(-1, "default"));
            return items.Select(get).ToList();
        }
        var name = Str(a.Required(0, "filter", "map"));
        var rest = a.Skip(1);
        return items.Select(x => Apply(name, x, rest)).ToList();
    }

    private static object? Select(object? v, Arguments a, bool attr, bool keep)
    {
        var items = IterateIfTruthy(v);
        Func<object?, object?> get = x => x;
        int i = 0;
        if (attr) get = Getter(a.Required(i++, "attribute", "selectattr"));
        Func<object?, bool> pred;
        if (a.Count > i)
        {
            var test = Str(a.Positional[i]);
            var rest = a.Skip(i + 1);
            pred = x => Tests.Apply(test, x, rest);
        }
        else pred = PyOps.Truthy;
        return items.Where(x => pred(get(x)) == keep).ToList();
    }
}
