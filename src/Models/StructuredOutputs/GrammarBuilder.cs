using static Pipeline.Models.StructuredOutputs.GrammarExpr;

namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// Collects named rules as <see cref="GrammarExpr"/>s and flattens them into a <see cref="Grammar"/>. Repetition becomes
/// right recursion (S: x S | empty) whose tail call the matcher does not push, so a long string or array keeps the
/// stack flat. Left recursion is refused: a top-down matcher cannot expand it.
/// </summary>
public sealed class GrammarBuilder
{
    /// <summary>Bound on flattened positions: a schema that expands past it (maxLength: 10^6) is refused.</summary>
    public const int MaxPositions = 2_000_000;

    readonly List<string> _names = new();
    readonly List<GrammarExpr?> _bodies = new();

    public int NumRules => _names.Count;

    /// <summary>A new rule, defined later with <see cref="Define"/> (so rules can refer to each other).</summary>
    public int Declare(string name)
    {
        _names.Add(name);
        _bodies.Add(null);
        return _names.Count - 1;
    }

    public void Define(int rule, GrammarExpr body)
    {
        if (_bodies[rule] != null) throw new InvalidOperationException($"rule {_names[rule]} is defined twice");
        _bodies[rule] = body;
    }

    public bool IsDefined(int rule) => _bodies[rule] != null;

    public int Add(string name, GrammarExpr body)
    {
        int r = Declare(name);
        Define(r, body);
        return r;
    }

    public Grammar Build(int root)
    {
        var kinds = new List<byte>();
        var args = new List<int>();
        var sets = new List<ByteSet>();
        var setIds = new Dictionary<ByteSet, int>();
        var alts = new List<int[]>();
        var names = new List<string>(_names);
        var pending = new List<(int Rule, GrammarExpr Body)>();
        for (int r = 0; r < _bodies.Count; r++)
        {
            alts.Add([]);
            pending.Add((r, _bodies[r] ?? throw new GrammarException("grammar", $"rule '{_names[r]}' is used but never defined")));
        }

        int NewRule(string name, GrammarExpr body)
        {
            names.Add(name);
            alts.Add([]);
            pending.Add((names.Count - 1, body));
            return names.Count - 1;
        }

        int SetId(ByteSet s)
        {
            if (!setIds.TryGetValue(s, out int id)) { id = sets.Count; sets.Add(s); setIds[s] = id; }
            return id;
        }

        // One item of a sequence: (kind, arg).
        void LowerSeq(GrammarExpr e, List<(byte, int)> into, string owner)
        {
            switch (e)
            {
                case Bytes b: foreach (var x in b.Value) into.Add((Grammar.KindTerminal, SetId(ByteSet.Single(x)))); break;
                case Set s:
                    if (s.Value.IsEmpty) throw new GrammarException("grammar", $"rule '{owner}' has an empty character class");
                    into.Add((Grammar.KindTerminal, SetId(s.Value)));
                    break;
                case Ref r: into.Add((Grammar.KindRef, r.Rule)); break;
                case LoweredItems li: into.AddRange(li.Items); break;
                case Seq q: foreach (var i in q.Items) LowerSeq(i, into, owner); break;
                case Alt a: into.Add((Grammar.KindRef, NewRule(owner + "_alt", a))); break;
                case Repeat rep:
                {
                    if (rep.Max != -1 && rep.Max < rep.Min) throw new GrammarException("grammar", $"repetition {{{rep.Min},{rep.Max}}} has max below min");
                    var body = new List<(byte, int)>();
                    LowerSeq(rep.Item, body, owner);
                    (byte, int) item = body.Count == 1 ? body[0] : (Grammar.KindRef, NewRule(owner + "_item", new Seq([ToExpr(body)])));
                    for (int i = 0; i < rep.Min; i++) into.Add(item);
                    if (rep.Max == -1)
                    {
                        int star = NewRule(owner + "_star", Empty);
                        // Defined here directly: S: item S | empty.
                        pending[^1] = (star, new Alt([new Seq([ToExpr([item]), new Ref(star)]), Empty]));
                        into.Add((Grammar.KindRef, star));
                    }
                    else if (rep.Max > rep.Min)
                    {
                        int next = -1;
                        for (int k = rep.Max - rep.Min; k >= 1; k--)
                        {
                            GrammarExpr more = next < 0 ? ToExpr([item]) : new Seq([ToExpr([item]), new Ref(next)]);
                            next = NewRule(owner + "_opt", new Alt([more, Empty]));
                            if (pending.Count > MaxPositions) throw TooLarge();
                        }
                        into.Add((Grammar.KindRef, next));
                    }
                    break;
                }
                default: throw new InvalidOperationException(e.GetType().Name);
            }
            if (into.Count > MaxPositions) throw TooLarge();
        }

        for (int p = 0; p < pending.Count; p++)
        {
            var (rule, body) = pending[p];
            var altExprs = body is Alt a ? a.Items : [body];
            var starts = new int[altExprs.Count];
            for (int i = 0; i < altExprs.Count; i++)
            {
                var items = new List<(byte, int)>();
                LowerSeq(altExprs[i], items, names[rule]);
                starts[i] = kinds.Count;
                foreach (var (k, v) in items) { kinds.Add(k); args.Add(v); }
                kinds.Add(Grammar.KindEnd);
                args.Add(rule);
                if (kinds.Count > MaxPositions) throw TooLarge();
            }
            alts[rule] = starts;
        }
        var g = new Grammar(kinds.ToArray(), args.ToArray(), sets.ToArray(), alts.ToArray(), names.ToArray(), root);
        CheckLeftRecursion(g);
        return g;
    }

    // Items already lowered, wrapped back as an expression (used to build the repetition rules).
    static GrammarExpr ToExpr(List<(byte Kind, int Arg)> items) => new LoweredItems(items.ToArray());

    static GrammarException TooLarge() => new("grammar", $"the constraint expands to more than {MaxPositions} grammar positions; use smaller bounds");

    static void CheckLeftRecursion(Grammar g)
    {
        int n = g.RuleAlts.Length;
        var nullable = new bool[n];
        for (bool changed = true; changed;)
        {
            changed = false;
            for (int r = 0; r < n; r++)
            {
                if (nullable[r]) continue;
                foreach (var start in g.RuleAlts[r])
                {
                    int p = start;
                    while (g.Kinds[p] == Grammar.KindRef && nullable[g.Args[p]]) p++;
                    if (g.Kinds[p] == Grammar.KindEnd) { nullable[r] = true; changed = true; break; }
                }
            }
        }
        // Rules each rule can begin with (through nullable prefixes); a cycle is left recursion.
        var state = new byte[n]; // 0 new, 1 on path, 2 done
        void Visit(int r)
        {
            state[r] = 1;
            foreach (var start in g.RuleAlts[r])
            {
                for (int p = start; g.Kinds[p] == Grammar.KindRef; p++)
                {
                    int c = g.Args[p];
                    if (state[c] == 1) throw new GrammarException("left recursion", $"rule '{g.RuleNames[c]}' is left-recursive; write the repetition with * or + instead");
                    if (state[c] == 0) Visit(c);
                    if (!nullable[c]) break;
                }
            }
            state[r] = 2;
        }
        for (int r = 0; r < n; r++) if (state[r] == 0) Visit(r);
    }
}

/// <summary>Items already lowered to (kind, arg) pairs; internal to <see cref="GrammarBuilder"/>.</summary>
internal sealed record LoweredItems((byte Kind, int Arg)[] Items) : GrammarExpr;
