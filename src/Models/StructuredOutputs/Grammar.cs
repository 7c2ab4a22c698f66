namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A context-free grammar over bytes in flat form: every alternative of every rule is a run of positions ending in an
/// end marker; a position is a byte-set terminal or a reference to a rule. The matcher's stacks hold positions.
/// Immutable once built, so one compiled grammar serves every request with the same constraint.
/// </summary>
public sealed class Grammar
{
    public const byte KindTerminal = 0, KindRef = 1, KindEnd = 2;

    internal Grammar(byte[] kinds, int[] args, ByteSet[] sets, int[][] ruleAlts, string[] ruleNames, int root)
    {
        Kinds = kinds;
        Args = args;
        Sets = sets;
        RuleAlts = ruleAlts;
        RuleNames = ruleNames;
        Root = root;
        var lookup = new bool[sets.Length][];
        for (int s = 0; s < sets.Length; s++)
        {
            lookup[s] = new bool[256];
            for (int b = 0; b < 256; b++) lookup[s][b] = sets[s].Contains(b);
        }
        SetLookup = lookup;
    }

    /// <summary>Per position: terminal, rule reference or end of an alternative.</summary>
    public byte[] Kinds { get; }
    /// <summary>Per position: the byte set index of a terminal, the rule of a reference.</summary>
    public int[] Args { get; }
    public ByteSet[] Sets { get; }
    internal bool[][] SetLookup { get; }
    /// <summary>Per rule: the first position of each alternative.</summary>
    public int[][] RuleAlts { get; }
    public string[] RuleNames { get; }
    public int Root { get; }
    public int NumPositions => Kinds.Length;
}

/// <summary>A constraint that cannot be compiled; <see cref="Feature"/> names what is not supported or wrong.</summary>
public sealed class GrammarException(string feature, string message) : Exception(message)
{
    public string Feature { get; } = feature;
}
