namespace Pipeline.Models.ChatTemplates;

/// <summary>A variable frame. For-loop iterations, macros and `with` get their own; `if` does not.</summary>
internal sealed class Scope(Scope? parent)
{
    private readonly Dictionary<string, object?> _vars = new();

    public Scope? Parent { get; } = parent;

    public bool TryLookup(string name, out object? value)
    {
        for (var s = this; s != null; s = s.Parent)
            if (s._vars.TryGetValue(name, out value)) return true;
        value = null;
        return false;
    }

    public object? Lookup(string name) => TryLookup(name, out var v) ? v : Undefined.Named(name);

    public void Set(string name, object? value) => _vars[name] = value;
}
