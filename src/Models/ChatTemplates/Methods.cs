namespace Pipeline.Models.ChatTemplates;

/// <summary>
/// Python methods reachable from templates (str, dict, list). Mutating methods are refused, as in
/// jinja2's ImmutableSandboxedEnvironment.
/// </summary>
internal static class Methods
{
    private static readonly HashSet<string> Unsafe =
        ["append", "extend", "insert", "pop", "remove", "clear", "sort", "reverse", "update", "setdefault", "popitem", "add", "discard"];

    public static Callable? Bind(object? target, string name)
    {
        if (name.StartsWith('_')) return null;
        return target switch
        {
            string s => StrMethod(s, name),
            PyDict d => DictMethod(d, name),
            List<object?> or object?[] => SeqMethod(target, name),
            _ => null,
        };
    }

    private static Callable Make(string name, JinjaFunction fn) => new(name, fn);

    private static string S(object? v, string fn) =>
        v as string ?? throw new RenderError($"{fn}() argument must be str, not {PyOps.TypeName(v)}");

    private static Callable? StrMethod(string s, string name) => name switch
    {
        "startswith" => Make(name, a => Affix(s, a.Required(0, "prefix", name), true)),
        "endswith" => Make(name, a => Affix(s, a.Required(0, "suffix", name), false)),
        "strip" => Make(name, a => PyStr.Strip(s, a.Get(0, "chars"), true, true)),
        "lstrip" => Make(name, a => PyStr.Strip(s, a.Get(0, "chars"), true, false)),
        "rstrip" => Make(name, a => PyStr.Strip(s, a.Get(0, "chars"), false, true)),
        "split" => Make(name, a => PyStr.Split(s, a.Get(0, "sep"), PyOps.AsLong(a.Get(1, "maxsplit", -1L)))),
        "rsplit" => Make(name, a => PyStr.RSplit(s, a.Get(0, "sep"), PyOps.AsLong(a.Get(1, "maxsplit", -1L)))),
        "splitlines" => Make(name, _ => PyStr.SplitLines(s).Select(x => (object?)x).ToList()),
        "upper" => Make(name, _ => s.ToUpperInvariant()),
        "lower" => Make(name, _ => s.ToLowerInvariant()),
        "casefold" => Make(name, _ => s.ToLowerInvariant()),
        "title" => Make(name, _ => PyStr.PyTitle(s)),
        "capitalize" => Make(name, _ => PyStr.Capitalize(s)),
        "swapcase" => Make(name, _ => new string(s.Select(c => char.IsUpper(c) ? char.ToLowerInvariant(c) : char.ToUpperInvariant(c)).ToArray())),
        "replace" => Make(name, a => Replace(s, S(a.Required(0, "old", name), name), S(a.Required(1, "new", name), name), PyOps.AsLong(a.Get(2, "count", -1L)))),
        "format" => Make(name, a => PyFormat.StrFormat(s, a)),
        "join" => Make(name, a => string.Join(s, PyOps.Iterate(a.Required(0, "iterable", name)).Select(x => S(x, name)))),
        "find" => Make(name, a => (long)s.IndexOf(S(a.Required(0, "sub", name), name), StringComparison.Ordinal)),
        "rfind" => Make(name, a => (long)s.LastIndexOf(S(a.Required(0, "sub", name), name), StringComparison.Ordinal)),
        "index" => Make(name, a =>
        {
            int i = s.IndexOf(S(a.Required(0, "sub", name), name), StringComparison.Ordinal);
            return i < 0 ? throw new RenderError("substring not found") : (long)i;
        }),
        "count" => Make(name, a => CountSub(s, S(a.Required(0, "sub", name), name))),
        "isdigit" or "isdecimal" or "isnumeric" => Make(name, _ => s.Length > 0 && s.All(char.IsDigit)),
        "isalpha" => Make(name, _ => s.Length > 0 && s.All(char.IsLetter)),
        "isalnum" => Make(name, _ => s.Length > 0 && s.All(char.IsLetterOrDigit)),
        "isspace" => Make(name, _ => s.Length > 0 && s.All(char.IsWhiteSpace)),
        "isupper" => Make(name, _ => s.Any(char.IsLetter) && !s.Any(char.IsLower)),
        "islower" => Make(name, _ => s.Any(char.IsLetter) && !s.Any(char.IsUpper)),
        "zfill" => Make(name, a => ZFill(s, PyOps.Size(PyOps.AsLong(a.Required(0, "width", name))))),
        "center" => Make(name, a => PyStr.Center(s, PyOps.AsLong(a.Required(0, "width", name)), FillOf(a))),
        "ljust" => Make(name, a => PyFormat.FormatSpec(s, FillOf(a) + "<" + PyOps.AsLong(a.Required(0, "width", name)))),
        "rjust" => Make(name, a => PyFormat.FormatSpec(s, FillOf(a) + ">" + PyOps.AsLong(a.Required(0, "width", name)))),
        "removeprefix" => Make(name, a => { var p = S(a.Required(0, "prefix", name), name); return s.StartsWith(p, StringComparison.Ordinal) ? s[p.Length..] : s; }),
        "removesuffix" => Make(name, a => { var p = S(a.Required(0, "suffix", name), name); return p.Length > 0 && s.EndsWith(p, StringComparison.Ordinal) ? s[..^p.Length] : s; }),
        "partition" => Make(name, a =>
        {
            var sep = S(a.Required(0, "sep", name), name);
            int i = s.IndexOf(sep, StringComparison.Ordinal);
            return i < 0 ? new object?[] { s, "", "" } : new object?[] { s[..i], sep, s[(i + sep.Length)..] };
        }),
        _ => null,
    };

    private static string FillOf(Arguments a) => a.Get(1, "fillchar") as string ?? " ";

    private static string ZFill(string s, int width)
    {
        if (s.Length >= width) return s;
        PyOps.Size(width);
        bool sign = s.Length > 0 && s[0] is '-' or '+';
        return sign ? s[0] + s[1..].PadLeft(width - 1, '0') : s.PadLeft(width, '0');
    }

    private static long CountSub(string s, string sub)
    {
        if (sub.Length == 0) return PyStr.Length(s) + 1;
        long n = 0;
        for (int i = s.IndexOf(sub, StringComparison.Ordinal); i >= 0; i = s.IndexOf(sub, i + sub.Length, StringComparison.Ordinal)) n++;
        return n;
    }

    public static string Replace(string s, string old, string @new, long count)
    {
        if (count < 0) return old.Length == 0 ? InsertEverywhere(s, @new) : s.Replace(old, @new, StringComparison.Ordinal);
        var sb = new System.Text.StringBuilder();
        int pos = 0;
        for (long n = 0; n < count; n++)
        {
            int i = s.IndexOf(old, pos, StringComparison.Ordinal);
            if (i < 0 || old.Length == 0) break;
            sb.Append(s, pos, i - pos).Append(@new);
            pos = i + old.Length;
        }
        return sb.Append(s, pos, s.Length - pos).ToString();
    }

    private static string InsertEverywhere(string s, string ins) =>
        ins + string.Concat(PyStr.Chars(s).Select(c => (string)c! + ins));

    private static bool Affix(string s, object? arg, bool prefix)
    {
        if (arg is object?[] options) return options.Any(o => Affix(s, o, prefix));
        var a = arg as string ?? throw new RenderError($"{(prefix ? "startswith" : "endswith")} first arg must be str or a tuple of str, not {PyOps.TypeName(arg)}");
        return prefix ? s.StartsWith(a, StringComparison.Ordinal) : s.EndsWith(a, StringComparison.Ordinal);
    }

    private static Callable? DictMethod(PyDict d, string name) => name switch
    {
        "get" => Make(name, a =>
        {
            var key = a.Required(0, "key", name);
            return key != null && d.TryGetValue(key, out var v) ? v : a.Get(1, "default");
        }),
        "items" => Make(name, _ => d.Select(kv => (object?)new object?[] { kv.Key, kv.Value }).ToList()),
        "keys" => Make(name, _ => d.Keys.Cast<object?>().ToList()),
        "values" => Make(name, _ => d.Values.ToList()),
        "copy" => Make(name, _ =>
        {
            var c = new PyDict();
            foreach (var kv in d) c[kv.Key] = kv.Value;
            return c;
        }),
        _ when Unsafe.Contains(name) => Refuse(name, "dict"),
        _ => null,
    };

    private static Callable? SeqMethod(object seq, string name) => name switch
    {
        "index" => Make(name, a =>
        {
            var x = a.Required(0, "value", name);
            var list = PyOps.AsSeq(seq)!;
            for (int i = 0; i < list.Count; i++)
                if (PyOps.Equal(list[i], x)) return (long)i;
            throw new RenderError($"{PyFormat.Repr(x)} is not in list");
        }),
        "count" => Make(name, a =>
        {
            var x = a.Required(0, "value", name);
            return (long)PyOps.AsSeq(seq)!.Count(v => PyOps.Equal(v, x));
        }),
        "copy" when seq is List<object?> l => Make(name, _ => l.ToList()),
        _ when Unsafe.Contains(name) => Refuse(name, PyOps.TypeName(seq)),
        _ => null,
    };

    private static Callable Refuse(string name, string type) =>
        Make(name, _ => throw new RenderError($"access to attribute '{name}' of '{type}' object is unsafe."));
}
