namespace Pipeline.Models.ChatTemplates;

/// <summary>Python semantics for truthiness, equality, ordering, arithmetic, iteration and subscripts.</summary>
internal static class PyOps
{
    public static string TypeName(object? v) => v switch
    {
        null => "NoneType",
        Undefined => "Undefined",
        bool => "bool",
        long => "int",
        double => "float",
        string => "str",
        object?[] => "tuple",
        List<object?> => "list",
        PyDict => "dict",
        Namespace => "Namespace",
        LoopContext => "LoopContext",
        Callable => "function",
        _ => v.GetType().Name,
    };

    public static bool Truthy(object? v) => v switch
    {
        null => false,
        Undefined => false,
        bool b => b,
        long l => l != 0,
        double d => d != 0,
        string s => s.Length > 0,
        object?[] t => t.Length > 0,
        List<object?> l => l.Count > 0,
        PyDict d => d.Count > 0,
        _ => true,
    };

    public static bool IsNumber(object? v) => v is long or double or bool;

    public static bool IsSequence(object? v) => v is List<object?> or object?[];

    public static IReadOnlyList<object?>? AsSeq(object? v) => v switch
    {
        List<object?> l => l,
        object?[] t => t,
        _ => null,
    };

    public static double ToDouble(object? v) => v switch
    {
        long l => l,
        double d => d,
        bool b => b ? 1 : 0,
        _ => throw new RenderError($"expected a number, got {TypeName(v)}"),
    };

    public static bool Equal(object? a, object? b)
    {
        if (a is Undefined || b is Undefined) return a is Undefined && b is Undefined;
        if (a == null || b == null) return a == null && b == null;
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a) == ToDouble(b);
            return AsLong(a) == AsLong(b);
        }
        if (a is string sa) return b is string sb && sa == sb;
        if (a is object?[] ta) return b is object?[] tb && SeqEqual(ta, tb);
        if (a is List<object?> la) return b is List<object?> lb && SeqEqual(la, lb);
        if (a is PyDict da)
        {
            if (b is not PyDict db || da.Count != db.Count) return false;
            foreach (var kv in da)
                if (!db.TryGetValue(kv.Key, out var bv) || !Equal(kv.Value, bv)) return false;
            return true;
        }
        return ReferenceEquals(a, b);
    }

    private static bool SeqEqual(IReadOnlyList<object?> a, IReadOnlyList<object?> b)
    {
        if (a.Count != b.Count) return false;
        for (int i = 0; i < a.Count; i++)
            if (!Equal(a[i], b[i])) return false;
        return true;
    }

    public static long AsLong(object? v) => v switch
    {
        long l => l,
        bool b => b ? 1 : 0,
        _ => throw new RenderError($"'{TypeName(v)}' object cannot be interpreted as an integer"),
    };

    /// <summary>Python's &lt; ordering; throws TypeError-like errors for unorderable pairs.</summary>
    public static int Compare(object? a, object? b, string op = "<")
    {
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        if (IsNumber(a) && IsNumber(b))
        {
            if (a is double || b is double) return ToDouble(a).CompareTo(ToDouble(b));
            return AsLong(a).CompareTo(AsLong(b));
        }
        if (a is string sa && b is string sb) return string.CompareOrdinal(sa, sb);
        if (AsSeq(a) is { } xa && AsSeq(b) is { } xb && a!.GetType() == b!.GetType())
        {
            for (int i = 0; i < Math.Min(xa.Count, xb.Count); i++)
                if (!Equal(xa[i], xb[i])) return Compare(xa[i], xb[i], op);
            return xa.Count.CompareTo(xb.Count);
        }
        throw new RenderError($"'{op}' not supported between instances of '{TypeName(a)}' and '{TypeName(b)}'");
    }

    public static bool Contains(object? container, object? item)
    {
        switch (container)
        {
            case string s:
                if (item is not string sub) throw new RenderError($"'in <string>' requires string as left operand, not {TypeName(item)}");
                return s.Contains(sub, StringComparison.Ordinal);
            case PyDict d:
                if (item is List<object?> or PyDict) throw new RenderError($"unhashable type: '{TypeName(item)}'");
                return item != null && d.ContainsKey(item);
            case Undefined:
                return false;
            default:
                if (AsSeq(container) is { } seq)
                {
                    foreach (var x in seq)
                        if (Equal(x, item)) return true;
                    return false;
                }
                throw new RenderError($"argument of type '{TypeName(container)}' is not iterable");
        }
    }

    public static IEnumerable<object?> Iterate(object? v) => v switch
    {
        Undefined => [],
        string s => PyStr.Chars(s),
        List<object?> l => l.ToList(),
        object?[] t => t,
        PyDict d => d.Keys.ToList(),
        _ => throw new RenderError($"'{TypeName(v)}' object is not iterable"),
    };

    public static long Length(object? v) => v switch
    {
        Undefined => 0,
        string s => PyStr.Length(s),
        List<object?> l => l.Count,
        object?[] t => t.Length,
        PyDict d => d.Count,
        Namespace n => n.Attrs.Count,
        _ => throw new RenderError($"object of type '{TypeName(v)}' has no len()"),
    };

    // ---- arithmetic ----

    public static object? Binary(string op, object? a, object? b)
    {
        if (op == "%" && a is string fmtStr && b is Undefined) return PyFormat.Percent(fmtStr, new PyDict());
        if (a is Undefined ua) throw ua.Fail();
        if (b is Undefined ub) throw ub.Fail();
        switch (op)
        {
            case "+":
                if (a is string s1 && b is string s2) return s1 + s2;
                if (a is List<object?> l1 && b is List<object?> l2) return l1.Concat(l2).ToList();
                if (a is object?[] t1 && b is object?[] t2) return t1.Concat(t2).ToArray();
                break;
            case "*":
                if (a is string rs && IsInt(b)) return Repeat(rs, AsLong(b));
                if (IsInt(a) && b is string rs2) return Repeat(rs2, AsLong(a));
                if (a is List<object?> rl && IsInt(b)) return RepeatList(rl, AsLong(b));
                if (IsInt(a) && b is List<object?> rl2) return RepeatList(rl2, AsLong(a));
                break;
            case "%":
                if (a is string fmt) return PyFormat.Percent(fmt, b);
                break;
        }
        if (!IsNumber(a) || !IsNumber(b))
        {
            if (op == "+" && a is string or List<object?> or object?[])
                throw new RenderError($"can only concatenate {TypeName(a)} (not \"{TypeName(b)}\") to {TypeName(a)}");
            throw new RenderError($"unsupported operand type(s) for {op}: '{TypeName(a)}' and '{TypeName(b)}'");
        }
        bool ints = a is not double && b is not double;
        try
        {
            return Arithmetic(op, a, b, ints);
        }
        catch (OverflowException)
        {
            throw new RenderError("integer overflow: integers beyond 64 bits are not supported");
        }
    }

    private static object? Arithmetic(string op, object? a, object? b, bool ints)
    {
        checked
        {
            switch (op)
            {
                case "+": return ints ? (object)(AsLong(a) + AsLong(b)) : ToDouble(a) + ToDouble(b);
                case "-": return ints ? (object)(AsLong(a) - AsLong(b)) : ToDouble(a) - ToDouble(b);
                case "*": return ints ? (object)(AsLong(a) * AsLong(b)) : ToDouble(a) * ToDouble(b);
                case "/":
                    if (ToDouble(b) == 0) throw new RenderError("division by zero");
                    return ToDouble(a) / ToDouble(b);
                case "//":
                    if (ToDouble(b) == 0) throw new RenderError("integer division or modulo by zero");
                    if (ints) return FloorDiv(AsLong(a), AsLong(b));
                    return FloatFloorDiv(ToDouble(a), ToDouble(b));
                case "%":
                    if (ToDouble(b) == 0) throw new RenderError("integer division or modulo by zero");
                    if (ints)
                    {
                        long x = AsLong(a), y = AsLong(b);
                        return x - FloorDiv(x, y) * y;
                    }
                    else
                    {
                        double x = ToDouble(a), y = ToDouble(b);
                        double m = x % y;
                        if (m == 0) return Math.CopySign(0.0, y);
                        return (m < 0) != (y < 0) ? m + y : m;
                    }
                case "**":
                    if (ints && AsLong(b) >= 0) return IntPow(AsLong(a), AsLong(b));
                    return Math.Pow(ToDouble(a), ToDouble(b));
                default:
                    throw new RenderError($"unknown operator {op}");
            }
        }
    }

    // CPython's float floor division: derived from fmod so that a == (a // b) * b + a % b holds closely.
    private static double FloatFloorDiv(double x, double y)
    {
        double mod = x % y;
        double div = (x - mod) / y;
        if (mod != 0 && (y < 0) != (mod < 0)) div -= 1.0;
        if (div == 0) return Math.CopySign(0.0, x / y);
        double floor = Math.Floor(div);
        return div - floor > 0.5 ? floor + 1.0 : floor;
    }

    private static long IntPow(long b, long e)
    {
        if (b is 0 or 1) return e == 0 ? 1 : b;
        if (b == -1) return e % 2 == 0 ? 1 : -1;
        long r = 1;
        // |b| >= 2 overflows within 64 steps, so the loop is short.
        for (; e > 0; e--) r = checked(r * b);
        return r;
    }

    private static bool IsInt(object? v) => v is long or bool;

    private static string Repeat(string s, long n) => n <= 0 ? "" : string.Concat(Enumerable.Repeat(s, Size(n * Math.Max(1, s.Length)) / Math.Max(1, s.Length)));

    private static List<object?> RepeatList(List<object?> l, long n) =>
        n <= 0 ? [] : Enumerable.Repeat(l, Size(n * Math.Max(1, l.Count)) / Math.Max(1, l.Count)).SelectMany(x => x).ToList();

    /// <summary>Largest string or list a template may build in one operation.</summary>
    public const int MaxSize = 1 << 26;

    /// <summary>Validates a size a template asked for, so huge requests fail as template errors.</summary>
    public static int Size(long n) =>
        n > MaxSize ? throw new RenderError($"result too large ({n} elements; the limit is {MaxSize})") : (int)Math.Max(0, n);

    private static long FloorDiv(long a, long b)
    {
        long q = a / b;
        if ((a % b != 0) && ((a < 0) != (b < 0))) q--;
        return q;
    }

    public static object? Negate(object? v) => v switch
    {
        long l => (object)(-l),
        double d => -d,
        bool b => b ? -1L : 0L,
        Undefined u => throw u.Fail(),
        _ => throw new RenderError($"bad operand type for unary -: '{TypeName(v)}'"),
    };

    // ---- subscripts and attributes ----

    /// <summary>obj[key]: item first, then attribute for string keys (jinja2's environment.getitem).</summary>
    public static object? GetItem(object? obj, object? key)
    {
        switch (obj)
        {
            case Undefined u:
                throw u.Fail();
            case PyDict d:
                if (key != null && d.TryGetValue(key, out var v)) return v;
                if (key is string ks && Methods.Bind(obj, ks) is { } m) return m;
                return Undefined.NoAttribute(d, key);
            case string s:
                if (key is long or bool)
                {
                    var idx = AsLong(key);
                    var ch = PyStr.At(s, idx);
                    return (object?)ch ?? new Undefined($"'str object' has no element {idx}");
                }
                break;
            case Namespace or LoopContext:
                if (key is string name) return GetAttr(obj, name);
                break;
        }
        if (AsSeq(obj) is { } seq && key is long or bool)
        {
            long i = AsLong(key);
            if (i < 0) i += seq.Count;
            if (i >= 0 && i < seq.Count) return seq[(int)i];
            return new Undefined($"'{TypeName(obj)} object' has no element {AsLong(key)}");
        }
        if (key is string attr) return GetAttr(obj, attr);
        return new Undefined($"'{TypeName(obj)} object' has no element {PyFormat.Str(key)}");
    }

    /// <summary>obj.name: attribute first, then item (jinja2's environment.getattr).</summary>
    public static object? GetAttr(object? obj, string name)
    {
        switch (obj)
        {
            case Undefined u:
                throw u.Fail();
            case Namespace ns:
                return ns.Attrs.TryGetValue(name, out var nv) ? nv : new Undefined($"'Namespace' object has no attribute '{name}'");
            case LoopContext loop:
                return loop.Get(name);
        }
        if (Methods.Bind(obj, name) is { } m) return m;
        if (obj is PyDict d && d.TryGetValue(name, out var v)) return v;
        return Undefined.NoAttribute(obj, name);
    }

    public static object? Slice(object? obj, object? start, object? stop, object? step)
    {
        if (obj is Undefined u) throw u.Fail();
        long? Opt(object? o) => o is null or Undefined ? null : AsLong(o);
        long st = Opt(step) ?? 1;
        if (st == 0) throw new RenderError("slice step cannot be zero");
        if (obj is string s)
        {
            var cps = PyStr.CodePoints(s);
            var idx = SliceIndices(cps.Length, Opt(start), Opt(stop), st);
            return PyStr.FromCodePoints(idx.Select(i => cps[i]));
        }
        if (AsSeq(obj) is { } seq)
        {
            var picked = SliceIndices(seq.Count, Opt(start), Opt(stop), st).Select(i => seq[i]);
            return obj is object?[] ? picked.ToArray() : picked.ToList();
        }
        throw new RenderError($"'{TypeName(obj)}' object is not subscriptable");
    }

    private static IEnumerable<int> SliceIndices(int len, long? start, long? stop, long step)
    {
        long Clamp(long v, long lo, long hi) => Math.Max(lo, Math.Min(hi, v));
        long lower = step > 0 ? 0 : -1, upper = step > 0 ? len : len - 1;
        long b = start is long s0 ? Clamp(s0 < 0 ? s0 + len : s0, lower, upper) : (step > 0 ? lower : upper);
        long e = stop is long e0 ? Clamp(e0 < 0 ? e0 + len : e0, lower, upper) : (step > 0 ? upper : lower);
        if (step > 0)
            for (long i = b; i < e; i += step) yield return (int)i;
        else
            for (long i = b; i > e; i += step) yield return (int)i;
    }
}
