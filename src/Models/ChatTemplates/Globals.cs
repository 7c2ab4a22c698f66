using System.Globalization;
using System.Text;

namespace Pipeline.Models.ChatTemplates;

/// <summary>Functions every template can call: jinja2's range/namespace/dict plus transformers' helpers.</summary>
internal static class Globals
{
    private const long MaxRange = 100_000; // jinja2's sandbox limit

    public static void Install(Scope scope, Func<DateTime> clock)
    {
        scope.Set("range", new Callable("range", Range));
        scope.Set("namespace", new Callable("namespace", a =>
        {
            var ns = new Namespace();
            foreach (var p in a.Positional)
            {
                if (p is not PyDict d) throw new RenderError("namespace() positional arguments must be mappings");
                foreach (var kv in d) ns.Attrs[PyFormat.Str(kv.Key)] = kv.Value;
            }
            foreach (var kv in a.Named) ns.Attrs[kv.Key] = kv.Value;
            return ns;
        }));
        scope.Set("dict", new Callable("dict", a =>
        {
            var d = new PyDict();
            foreach (var p in a.Positional)
                if (p is PyDict src)
                    foreach (var kv in src) d[kv.Key] = kv.Value;
            foreach (var kv in a.Named) d[kv.Key] = kv.Value;
            return d;
        }));
        scope.Set("raise_exception", new Callable("raise_exception", a =>
            throw new RenderError(PyFormat.Str(a.Get(0, "message", "")))));
        scope.Set("strftime_now", new Callable("strftime_now", a =>
            Strftime(clock(), PyFormat.Str(a.Required(0, "format", "strftime_now")))));
    }

    private static object? Range(Arguments a)
    {
        long start = 0, stop, step = 1;
        if (a.Count == 1) stop = PyOps.AsLong(a.Positional[0]);
        else if (a.Count is 2 or 3)
        {
            start = PyOps.AsLong(a.Positional[0]);
            stop = PyOps.AsLong(a.Positional[1]);
            if (a.Count == 3) step = PyOps.AsLong(a.Positional[2]);
        }
        else throw new RenderError($"range expected 1 to 3 arguments, got {a.Count}");
        if (step == 0) throw new RenderError("range() arg 3 must not be zero");
        long n = step > 0 ? Math.Max(0, (stop - start + step - 1) / step) : Math.Max(0, (start - stop - step - 1) / -step);
        if (n > MaxRange) throw new RenderError($"Range too big. The sandbox blocks ranges larger than MAX_RANGE ({MaxRange}).");
        var list = new List<object?>((int)n);
        for (long i = 0; i < n; i++) list.Add(start + i * step);
        return list;
    }

    /// <summary>Python's datetime.strftime for the directives chat templates use (incl. glibc's %-d).</summary>
    public static string Strftime(DateTime t, string fmt)
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        for (int i = 0; i < fmt.Length; i++)
        {
            if (fmt[i] != '%' || i + 1 >= fmt.Length) { sb.Append(fmt[i]); continue; }
            char c = fmt[++i];
            bool noPad = false;
            if (c == '-' && i + 1 < fmt.Length) { noPad = true; c = fmt[++i]; }
            string Num(int v, int width) => noPad ? v.ToString(inv) : v.ToString(inv).PadLeft(width, '0');
            int hour12 = t.Hour % 12 == 0 ? 12 : t.Hour % 12;
            sb.Append(c switch
            {
                'Y' => t.Year.ToString(inv),
                'y' => Num(t.Year % 100, 2),
                'm' => Num(t.Month, 2),
                'd' => Num(t.Day, 2),
                'e' => t.Day.ToString(inv).PadLeft(2, ' '),
                'H' => Num(t.Hour, 2),
                'I' => Num(hour12, 2),
                'M' => Num(t.Minute, 2),
                'S' => Num(t.Second, 2),
                'f' => (t.Ticks % TimeSpan.TicksPerSecond / 10).ToString("000000", inv),
                'p' => t.Hour < 12 ? "AM" : "PM",
                'B' => inv.DateTimeFormat.GetMonthName(t.Month),
                'b' or 'h' => inv.DateTimeFormat.GetAbbreviatedMonthName(t.Month),
                'A' => inv.DateTimeFormat.GetDayName(t.DayOfWeek),
                'a' => inv.DateTimeFormat.GetAbbreviatedDayName(t.DayOfWeek),
                'j' => Num(t.DayOfYear, 3),
                'w' => ((int)t.DayOfWeek).ToString(inv),
                'u' => (t.DayOfWeek == DayOfWeek.Sunday ? 7 : (int)t.DayOfWeek).ToString(inv),
                'F' => t.ToString("yyyy-MM-dd", inv),
                'T' => t.ToString("HH:mm:ss", inv),
                'D' => t.ToString("MM/dd/yy", inv),
                'Z' => "",
                'z' => "",
                '%' => "%",
                _ => "%" + (noPad ? "-" : "") + c,
            });
        }
        return sb.ToString();
    }
}
