namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A grammar expression over bytes, what every front end (JSON schema, regex, choice, EBNF) produces before the grammar
/// is flattened into rules (<see cref="Grammar"/>). <see cref="Ref"/> names a rule of the same <see cref="GrammarBuilder"/>.
/// </summary>
public abstract record GrammarExpr
{
    public sealed record Bytes(byte[] Value) : GrammarExpr;
    public sealed record Set(ByteSet Value) : GrammarExpr;
    public sealed record Ref(int Rule) : GrammarExpr;
    public sealed record Seq(IReadOnlyList<GrammarExpr> Items) : GrammarExpr;
    public sealed record Alt(IReadOnlyList<GrammarExpr> Items) : GrammarExpr;
    /// <summary>Min to Max repetitions; Max -1 is unbounded.</summary>
    public sealed record Repeat(GrammarExpr Item, int Min, int Max) : GrammarExpr;

    public static readonly GrammarExpr Empty = new Seq([]);
    public static GrammarExpr Lit(string s) => new Bytes(System.Text.Encoding.UTF8.GetBytes(s));
    public static GrammarExpr Of(params GrammarExpr[] items) => items.Length == 1 ? items[0] : new Seq(items);
    public static GrammarExpr Either(params GrammarExpr[] items) => items.Length == 1 ? items[0] : new Alt(items);
    public static GrammarExpr Either(IEnumerable<GrammarExpr> items) => Either(items.ToArray());
    public static GrammarExpr Optional(GrammarExpr e) => new Repeat(e, 0, 1);
    public static GrammarExpr Star(GrammarExpr e) => new Repeat(e, 0, -1);
    public static GrammarExpr Plus(GrammarExpr e) => new Repeat(e, 1, -1);
    public static GrammarExpr Range(char lo, char hi) => new Set(ByteSet.Range(lo, hi));
}
