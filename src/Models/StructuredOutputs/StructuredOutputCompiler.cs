using Pipeline.Models.Sampling;
using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// Compiles constraints into grammars once per distinct value: a process-wide LRU keyed by
/// <see cref="StructuredOutputsParams.Key"/>, shared by request validation (which reports unsupported features) and the
/// model runners (which bind the grammar to their vocabulary). Thread-safe.
/// </summary>
public static class StructuredOutputCompiler
{
    public const int Capacity = 256;
    static readonly LruCache<string, Grammar> Cache = new(Capacity);

    public static int Count => Cache.Count;

    public static Grammar Compile(StructuredOutputsParams p)
    {
        if (p.NumConstraints != 1)
            throw new GrammarException("structured_outputs", p.NumConstraints == 0
                ? "structured outputs need one of json, json_object, regex, choice or grammar"
                : "only one kind of structured outputs constraint can be given (json, json_object, regex, choice or grammar)");
        return Cache.GetOrAdd(p.Key, _ => Build(p));
    }

    static Grammar Build(StructuredOutputsParams p)
    {
        switch (p.Kind)
        {
            case "json": return JsonSchemaCompiler.Compile(p.Json!);
            case "json_object": return JsonSchemaCompiler.AnyObject();
            case "regex":
            {
                var b = new GrammarBuilder();
                return b.Build(b.Add("root", RegexCompiler.Compile(p.Regex!)));
            }
            case "choice":
            {
                if (p.Choice!.Count == 0) throw new GrammarException("choice", "choice must list at least one string");
                var b = new GrammarBuilder();
                return b.Build(b.Add("root", Either(p.Choice.Distinct().Select(c => c.Length == 0 ? Empty : Lit(c)).ToList())));
            }
            default: return EbnfCompiler.Compile(p.Grammar!);
        }
    }
}

/// <summary>A small thread-safe least-recently-used cache.</summary>
public sealed class LruCache<TKey, TValue>(int capacity) where TKey : notnull
{
    readonly Dictionary<TKey, LinkedListNode<(TKey Key, TValue Value)>> _map = new();
    readonly LinkedList<(TKey Key, TValue Value)> _order = new();
    readonly object _lock = new();

    public int Count { get { lock (_lock) return _map.Count; } }

    public bool TryGet(TKey key, out TValue value)
    {
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var node))
            {
                _order.Remove(node);
                _order.AddFirst(node);
                value = node.Value.Value;
                return true;
            }
        }
        value = default!;
        return false;
    }

    /// <summary>The cached value, or <paramref name="create"/>'s (run outside the lock; a failure caches nothing).</summary>
    public TValue GetOrAdd(TKey key, Func<TKey, TValue> create)
    {
        if (TryGet(key, out var v)) return v;
        v = create(key);
        lock (_lock)
        {
            if (_map.TryGetValue(key, out var existing)) return existing.Value.Value;
            _map[key] = _order.AddFirst((key, v));
            while (_map.Count > capacity)
            {
                var last = _order.Last!;
                _order.RemoveLast();
                _map.Remove(last.Value.Key);
            }
        }
        return v;
    }
}
