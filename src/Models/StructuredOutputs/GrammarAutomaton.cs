namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// The grammar's pushdown automaton, determinized lazily over bytes. A stack is an interned chain of continuation
/// positions (node = top position + the node to continue with when its rule ends), so equal stacks are one int. A state
/// is the set of stacks whose top is a terminal, after expanding rule references and popping finished rules (the
/// closure), plus whether the input so far is a complete sentence. States are interned too, and each state's 256 byte
/// transitions are filled the first time they are asked for, so after warm-up a token is matched with one array read
/// per byte. Not thread-safe: one automaton belongs to one model runner.
/// </summary>
public sealed class GrammarAutomaton
{
    public const int Dead = -1;
    const int Unknown = -2;

    readonly Grammar _g;
    readonly List<int> _nodePos = new();
    readonly List<int> _nodeParent = new();
    readonly Dictionary<long, int> _nodeIds = new();
    readonly List<int[]> _stateStacks = new();
    readonly List<bool> _stateAccepting = new();
    readonly Dictionary<StateKey, int> _stateIds = new();
    int[]?[] _transitions = new int[]?[64];
    // Scratch for closures.
    readonly HashSet<int> _visited = new();
    readonly HashSet<int> _terminals = new();
    readonly Stack<int> _work = new();

    public GrammarAutomaton(Grammar grammar)
    {
        _g = grammar;
        _visited.Clear();
        _terminals.Clear();
        bool accept = false;
        foreach (var a in grammar.RuleAlts[grammar.Root]) Closure(Node(a, -1), ref accept);
        Start = Intern(accept);
        if (Start == Dead) throw new GrammarException("grammar", "the grammar matches nothing");
    }

    public Grammar Grammar => _g;
    public int Start { get; }
    public int NumStates => _stateStacks.Count;
    public int NumStacks => _nodePos.Count;

    /// <summary>The input so far is a complete sentence of the grammar (EOS may end it here).</summary>
    public bool IsAccepting(int state) => _stateAccepting[state];
    /// <summary>Some byte can still follow.</summary>
    public bool CanContinue(int state) => _stateStacks[state].Length > 0;

    /// <summary>The state after <paramref name="b"/>, or <see cref="Dead"/> when the grammar does not allow it here.</summary>
    public int Step(int state, byte b)
    {
        var t = _transitions[state];
        if (t != null && t[b] != Unknown) return t[b];
        return Compute(state, b);
    }

    /// <summary>The state after all of <paramref name="bytes"/>, or <see cref="Dead"/>.</summary>
    public int Walk(int state, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            state = Step(state, b);
            if (state < 0) return Dead;
        }
        return state;
    }

    int Compute(int state, byte b)
    {
        _visited.Clear();
        _terminals.Clear();
        bool accept = false;
        var lookup = _g.SetLookup;
        foreach (var s in _stateStacks[state])
        {
            int pos = _nodePos[s];
            if (lookup[_g.Args[pos]][b]) Closure(Node(pos + 1, _nodeParent[s]), ref accept);
        }
        int next = Intern(accept);
        var t = _transitions[state];
        if (t == null)
        {
            t = new int[256];
            Array.Fill(t, Unknown);
            _transitions[state] = t;
        }
        t[b] = next;
        return next;
    }

    int Intern(bool accept)
    {
        if (_terminals.Count == 0 && !accept) return Dead;
        var stacks = _terminals.ToArray();
        Array.Sort(stacks);
        var key = new StateKey(stacks, accept);
        if (_stateIds.TryGetValue(key, out int id)) return id;
        id = _stateStacks.Count;
        _stateStacks.Add(stacks);
        _stateAccepting.Add(accept);
        _stateIds[key] = id;
        if (id >= _transitions.Length) Array.Resize(ref _transitions, _transitions.Length * 2);
        return id;
    }

    void Closure(int start, ref bool accept)
    {
        _work.Push(start);
        while (_work.Count > 0)
        {
            int s = _work.Pop();
            if (!_visited.Add(s)) continue;
            int pos = _nodePos[s], parent = _nodeParent[s];
            switch (_g.Kinds[pos])
            {
                case Grammar.KindTerminal: _terminals.Add(s); break;
                case Grammar.KindEnd:
                    if (parent < 0) accept = true;
                    else _work.Push(parent);
                    break;
                default:
                    // Tail call: a reference that ends its alternative continues straight with the parent.
                    int cont = _g.Kinds[pos + 1] == Grammar.KindEnd ? parent : Node(pos + 1, parent);
                    foreach (var a in _g.RuleAlts[_g.Args[pos]]) _work.Push(Node(a, cont));
                    break;
            }
        }
    }

    int Node(int pos, int parent)
    {
        long key = ((long)pos << 32) | (uint)(parent + 1);
        if (_nodeIds.TryGetValue(key, out int id)) return id;
        id = _nodePos.Count;
        _nodePos.Add(pos);
        _nodeParent.Add(parent);
        _nodeIds[key] = id;
        return id;
    }

    readonly struct StateKey(int[] stacks, bool accept) : IEquatable<StateKey>
    {
        readonly int[] _stacks = stacks;
        readonly bool _accept = accept;
        readonly int _hash = Hash(stacks, accept);

        static int Hash(int[] s, bool a)
        {
            var h = new HashCode();
            h.Add(a);
            foreach (var x in s) h.Add(x);
            return h.ToHashCode();
        }

        public bool Equals(StateKey o) => _hash == o._hash && _accept == o._accept && _stacks.AsSpan().SequenceEqual(o._stacks);
        public override bool Equals(object? obj) => obj is StateKey k && Equals(k);
        public override int GetHashCode() => _hash;
    }
}
