namespace Pipeline.Models.ChatTemplates;

/// <summary>jinja2's built-in tests (`x is name`).</summary>
internal static class Tests
{
    private delegate bool Test(object? value, Arguments args);

    private static object? Arg(Arguments a, string test) => a.Required(0, "other", test);

    private static readonly Dictionary<string, Test> Table = new()
    {
        ["defined"] = (v, _) => v is not Undefined,
        ["undefined"] = (v, _) => v is Undefined,
        ["none"] = (v, _) => v is null,
        ["string"] = (v, _) => v is string,
        ["number"] = (v, _) => v is long or double or bool,
        ["integer"] = (v, _) => v is long,
        ["float"] = (v, _) => v is double,
        ["boolean"] = (v, _) => v is bool,
        ["true"] = (v, _) => v is true,
        ["false"] = (v, _) => v is false,
        ["mapping"] = (v, _) => v is PyDict,
        ["iterable"] = (v, _) => v is string or List<object?> or object?[] or PyDict or Undefined,
        ["sequence"] = (v, _) => v is string or List<object?> or object?[] or PyDict or Undefined,
        ["callable"] = (v, _) => v is Callable or Undefined or LoopContext,
        ["even"] = (v, _) => PyOps.Equal(PyOps.Binary("%", v, 2L), 0L),
        ["odd"] = (v, _) => PyOps.Equal(PyOps.Binary("%", v, 2L), 1L),
        ["divisibleby"] = (v, a) => PyOps.AsLong(a.Required(0, "num", "divisibleby")) is var n && n != 0
            ? PyOps.AsLong(v) % n == 0
            : throw new RenderError("integer modulo by zero"),
        ["equalto"] = (v, a) => PyOps.Equal(v, Arg(a, "equalto")),
        ["eq"] = (v, a) => PyOps.Equal(v, Arg(a, "eq")),
        ["=="] = (v, a) => PyOps.Equal(v, Arg(a, "==")),
        ["ne"] = (v, a) => !PyOps.Equal(v, Arg(a, "ne")),
        ["!="] = (v, a) => !PyOps.Equal(v, Arg(a, "!=")),
        ["lt"] = (v, a) => PyOps.Compare(v, Arg(a, "lt")) < 0,
        ["<"] = (v, a) => PyOps.Compare(v, Arg(a, "<")) < 0,
        ["lessthan"] = (v, a) => PyOps.Compare(v, Arg(a, "lessthan")) < 0,
        ["le"] = (v, a) => PyOps.Compare(v, Arg(a, "le"), "<=") <= 0,
        ["<="] = (v, a) => PyOps.Compare(v, Arg(a, "<="), "<=") <= 0,
        ["gt"] = (v, a) => PyOps.Compare(v, Arg(a, "gt"), ">") > 0,
        [">"] = (v, a) => PyOps.Compare(v, Arg(a, ">"), ">") > 0,
        ["greaterthan"] = (v, a) => PyOps.Compare(v, Arg(a, "greaterthan"), ">") > 0,
        ["ge"] = (v, a) => PyOps.Compare(v, Arg(a, "ge"), ">=") >= 0,
        [">="] = (v, a) => PyOps.Compare(v, Arg(a, ">="), ">=") >= 0,
        ["in"] = (v, a) => PyOps.Contains(a.Required(0, "seq", "in"), v),
        ["lower"] = (v, _) => PyFormat.Str(v) is var s && s.Any(char.IsLetter) && !s.Any(char.IsUpper),
        ["upper"] = (v, _) => PyFormat.Str(v) is var s && s.Any(char.IsLetter) && !s.Any(char.IsLower),
        ["sameas"] = (v, a) => Arg(a, "sameas") is var o && (v is null ? o is null : v is bool b ? o is bool ob && b == ob : ReferenceEquals(v, o)),
        ["escaped"] = (_, _) => false,
        ["filter"] = (v, _) => v is string s && Filters.Exists(s),
        ["test"] = (v, _) => v is string s && Exists(s),
    };

    public static bool Exists(string name) => Table.ContainsKey(name);

    public static bool Apply(string name, object? value, Arguments args)
    {
        if (!Table.TryGetValue(name, out var t)) throw new RenderError($"No test named '{name}'.");
        return t(value, args);
    }
}
