namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// A grammar bound to a vocabulary: its automaton plus one packed token bitmask per automaton state, computed the first
/// time the state is reached by walking the token trie (a dead prefix skips its whole subtree) and kept. In JSON most
/// steps revisit a state (inside a string, after a key), so a step's mask is usually a lookup.
/// </summary>
public sealed class CompiledGrammar
{
    readonly Dictionary<int, int[]> _masks = new();
    readonly int _maxCachedMasks;
    int[] _walkStates = [];

    public CompiledGrammar(Grammar grammar, TokenizerVocab vocab)
    {
        Automaton = new GrammarAutomaton(grammar);
        Vocab = vocab;
        // About 256 MiB of masks at most per grammar; past that, masks are recomputed.
        _maxCachedMasks = Math.Max(64, (256 << 20) / (vocab.MaskWords * 4));
    }

    public GrammarAutomaton Automaton { get; }
    public TokenizerVocab Vocab { get; }
    public int NumCachedMasks => _masks.Count;

    public GrammarMatcher NewMatcher() => new(this);

    /// <summary>The packed mask of tokens allowed in <paramref name="state"/> (bit t%32 of word t/32); do not modify.</summary>
    public int[] MaskFor(int state)
    {
        if (_masks.TryGetValue(state, out var mask)) return mask;
        mask = ComputeMask(state);
        if (_masks.Count >= _maxCachedMasks) _masks.Clear();
        _masks[state] = mask;
        return mask;
    }

    int[] ComputeMask(int state)
    {
        var mask = new int[Vocab.MaskWords];
        var a = Automaton;
        if (a.IsAccepting(state)) foreach (var e in Vocab.EosTokenIds) mask[e >> 5] |= 1 << (e & 31);
        if (!a.CanContinue(state)) return mask;
        var trie = Vocab.Trie;
        if (_walkStates.Length < trie.MaxDepth + 1) _walkStates = new int[trie.MaxDepth + 1];
        var states = _walkStates;
        states[0] = state;
        var bytes = trie.NodeByte;
        var depth = trie.NodeDepth;
        var end = trie.NodeEnd;
        var first = trie.NodeTokFirst;
        var count = trie.NodeTokCount;
        var sorted = trie.SortedTokens;
        int n = bytes.Length;
        for (int i = 0; i < n;)
        {
            int d = depth[i];
            int s = a.Step(states[d - 1], bytes[i]);
            if (s < 0) { i = end[i]; continue; }
            states[d] = s;
            for (int k = 0, f = first[i]; k < count[i]; k++)
            {
                int t = sorted[f + k];
                mask[t >> 5] |= 1 << (t & 31);
            }
            i++;
        }
        return mask;
    }
}

/// <summary>
/// One sequence's position in a compiled grammar: the tokens so far advance it, and <see cref="Mask"/> gives the tokens
/// allowed next. A token the grammar refuses (only possible when nothing was allowed) leaves the matcher failed, where
/// only EOS is allowed, so the sequence ends instead of producing garbage.
/// </summary>
public sealed class GrammarMatcher
{
    readonly CompiledGrammar _grammar;
    int _state;

    internal GrammarMatcher(CompiledGrammar grammar)
    {
        _grammar = grammar;
        _state = grammar.Automaton.Start;
    }

    public bool IsTerminated { get; private set; }
    public bool IsFailed { get; private set; }
    public int NumAcceptedTokens { get; private set; }
    /// <summary>The bytes so far form a complete sentence.</summary>
    public bool IsComplete => !IsFailed && _grammar.Automaton.IsAccepting(_state);

    /// <summary>Advances by one token; false when the grammar does not allow it here.</summary>
    public bool AcceptToken(int tokenId)
    {
        if (IsTerminated || IsFailed) return false;
        var vocab = _grammar.Vocab;
        if (vocab.IsEos(tokenId))
        {
            if (!_grammar.Automaton.IsAccepting(_state)) { IsFailed = true; return false; }
            IsTerminated = true;
            NumAcceptedTokens++;
            return true;
        }
        var bytes = vocab.BytesOf(tokenId);
        int next = bytes == null ? GrammarAutomaton.Dead : _grammar.Automaton.Walk(_state, bytes);
        if (next < 0) { IsFailed = true; return false; }
        _state = next;
        NumAcceptedTokens++;
        return true;
    }

    /// <summary>Writes the allowed tokens into <paramref name="row"/> (<see cref="TokenizerVocab.MaskWords"/> words).</summary>
    public void FillMask(Span<int> row)
    {
        if (IsTerminated || IsFailed)
        {
            row.Clear();
            foreach (var e in _grammar.Vocab.EosTokenIds) row[e >> 5] |= 1 << (e & 31);
            return;
        }
        _grammar.MaskFor(_state).CopyTo(row);
    }

    /// <summary>Whether <paramref name="tokenId"/> is allowed next (for tests and speculative checks).</summary>
    public bool IsAllowed(int tokenId)
    {
        var mask = IsTerminated || IsFailed ? null : _grammar.MaskFor(_state);
        if (mask == null) return _grammar.Vocab.IsEos(tokenId);
        return (mask[tokenId >> 5] >> (tokenId & 31) & 1) != 0;
    }
}
