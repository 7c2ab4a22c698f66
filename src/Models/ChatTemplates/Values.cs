namespace Pipeline.Models.ChatTemplates;

// Runtime values are plain CLR objects mirroring Python's: null (None), bool, long (int), double (float),
// string, List<object?> (list), object?[] (tuple), PyDict (dict), plus the types below.

/// <summary>jinja2's default Undefined: falsy, renders empty, iterates as empty, fails on use.</summary>
internal sealed class Undefined
{
    public static readonly Undefined Missing = new("value is undefined");

    private readonly string? _hint;
    private readonly object? _owner;
    private readonly object? _attribute;

    public Undefined(string hint) => _hint = hint;

    // Attribute misses are frequent (`message.tool_calls is defined`), so their message is built only if used.
    private Undefined(object? owner, object? attribute)
    {
        _owner = owner;
        _attribute = attribute;
    }

    public static Undefined Named(string name) => new($"'{name}' is undefined");

    public static Undefined NoAttribute(object? owner, object? attribute) => new(owner, attribute);

    /// <summary>The UndefinedError message jinja2 would give when this value is used.</summary>
    public string Hint => _hint ?? (_owner == null
        ? $"'None' has no attribute '{PyFormat.Str(_attribute)}'"
        : $"'{PyOps.TypeName(_owner)} object' has no attribute '{PyFormat.Str(_attribute)}'");

    public RenderError Fail() => new(Hint);

    public override string ToString() => "";
}

/// <summary>An insertion-ordered Python dict.</summary>
internal sealed class PyDict : OrderedDictionary<object, object?>
{
    public PyDict() : base(PyKeyComparer.Instance) { }
}

internal sealed class PyKeyComparer : IEqualityComparer<object>
{
    public static readonly PyKeyComparer Instance = new();

    public new bool Equals(object? x, object? y) => PyOps.Equal(x, y);

    public int GetHashCode(object o) => o switch
    {
        string s => s.GetHashCode(),
        bool b => (b ? 1.0 : 0.0).GetHashCode(),
        long l => ((double)l).GetHashCode(),
        double d => d.GetHashCode(),
        object?[] t => t.Length,
        _ => o.GetHashCode(),
    };
}

/// <summary>The object namespace() returns: the one thing `set` may assign attributes on.</summary>
internal sealed class Namespace
{
    public Dictionary<string, object?> Attrs { get; } = new();
}

/// <summary>Arguments of a call: positional then keyword.</summary>
internal sealed class Arguments(List<object?> positional, List<KeyValuePair<string, object?>> named)
{
    public static readonly Arguments None = new([], []);

    public List<object?> Positional { get; } = positional;
    public List<KeyValuePair<string, object?>> Named { get; } = named;

    public int Count => Positional.Count;

    public bool TryGet(int index, string name, out object? value)
    {
        if (index >= 0 && index < Positional.Count)
        {
            value = Positional[index];
            return true;
        }
        foreach (var kv in Named)
            if (kv.Key == name)
            {
                value = kv.Value;
                return true;
            }
        value = null;
        return false;
    }

    public object? Get(int index, string name, object? fallback = null) =>
        TryGet(index, name, out var v) ? v : fallback;

    public object? Required(int index, string name, string function) =>
        TryGet(index, name, out var v) ? v : throw new RenderError($"{function}() missing required argument '{name}'");

    public Arguments Skip(int n) => new(Positional.Skip(n).ToList(), Named);
}

internal delegate object? JinjaFunction(Arguments args);

/// <summary>Anything callable from a template: globals, bound methods, macros, loop helpers.</summary>
internal sealed class Callable(string name, JinjaFunction fn)
{
    public string Name { get; } = name;
    public object? Invoke(Arguments args) => fn(args);
    public override string ToString() => $"<function {Name}>";
}

/// <summary>The `loop` variable inside a for block.</summary>
internal sealed class LoopContext(List<object?> items, int depth, Callable? recurse)
{
    public int Index0 { get; set; }
    public int Depth { get; } = depth;
    public Callable? Recurse { get; } = recurse;
    private object? _lastChanged = Undefined.Missing;

    public object? Get(string name)
    {
        int n = items.Count;
        return name switch
        {
            "index" => (long)(Index0 + 1),
            "index0" => (long)Index0,
            "revindex" => (long)(n - Index0),
            "revindex0" => (long)(n - Index0 - 1),
            "first" => Index0 == 0,
            "last" => Index0 == n - 1,
            "length" => (long)n,
            "depth" => (long)Depth,
            "depth0" => (long)(Depth - 1),
            "previtem" => Index0 > 0 ? items[Index0 - 1] : new Undefined("there is no previous item"),
            "nextitem" => Index0 < n - 1 ? items[Index0 + 1] : new Undefined("there is no next item"),
            "cycle" => new Callable("loop.cycle", a =>
                a.Count == 0 ? throw new RenderError("no items for cycling given") : a.Positional[Index0 % a.Count]),
            "changed" => new Callable("loop.changed", a =>
            {
                var cur = a.Positional.ToArray();
                if (_lastChanged is object?[] prev && PyOps.Equal(prev, cur)) return false;
                _lastChanged = cur;
                return true;
            }),
            _ => new Undefined($"'LoopContext' object has no attribute '{name}'"),
        };
    }
}
