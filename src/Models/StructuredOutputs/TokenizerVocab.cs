namespace Pipeline.Models.StructuredOutputs;

/// <summary>
/// The vocabulary as the grammar sees it: each token id's bytes (decoded once; null for special tokens, which a
/// grammar never allows), the EOS ids (allowed only where the grammar is complete), and a byte trie over all tokens.
/// <see cref="Size"/> is the width of the model's logits, which may exceed the tokenizer's ids.
/// </summary>
public sealed class TokenizerVocab
{
    public TokenizerVocab(IReadOnlyList<byte[]?> tokenBytes, IReadOnlyCollection<int> eosTokenIds, int? size = null)
    {
        TokenBytes = tokenBytes;
        Size = Math.Max(size ?? tokenBytes.Count, tokenBytes.Count);
        EosTokenIds = eosTokenIds.Where(id => id >= 0 && id < Size).Distinct().ToArray();
        Trie = new TokenTrie(tokenBytes, EosTokenIds);
    }

    public IReadOnlyList<byte[]?> TokenBytes { get; }
    public int Size { get; }
    public int[] EosTokenIds { get; }
    public TokenTrie Trie { get; }
    /// <summary>Int32 words of one packed bitmask row (32 tokens a word).</summary>
    public int MaskWords => (Size + 31) / 32;

    public bool IsEos(int tokenId) => Array.IndexOf(EosTokenIds, tokenId) >= 0;

    public byte[]? BytesOf(int tokenId) => tokenId >= 0 && tokenId < TokenBytes.Count ? TokenBytes[tokenId] : null;
}

/// <summary>
/// All tokens' bytes as a trie laid out in depth-first order: node i has a byte, a depth, the index just past its
/// subtree (so a dead prefix skips every token under it at once) and the tokens that end there.
/// </summary>
public sealed class TokenTrie
{
    public TokenTrie(IReadOnlyList<byte[]?> tokenBytes, IReadOnlyCollection<int> excluded)
    {
        var ids = Enumerable.Range(0, tokenBytes.Count).Where(i => tokenBytes[i] is { Length: > 0 } && !excluded.Contains(i)).ToArray();
        Array.Sort(ids, (a, b) =>
        {
            int c = tokenBytes[a].AsSpan().SequenceCompareTo(tokenBytes[b]);
            return c != 0 ? c : a.CompareTo(b);
        });
        var nodeByte = new List<byte>();
        var nodeDepth = new List<int>();
        var nodeEnd = new List<int>();
        var nodeTokFirst = new List<int>();
        var nodeTokCount = new List<int>();
        var path = new List<int>(); // node index at each depth - 1
        byte[] prev = [];
        for (int k = 0; k < ids.Length; k++)
        {
            var b = tokenBytes[ids[k]]!;
            int lcp = 0;
            while (lcp < b.Length && lcp < prev.Length && b[lcp] == prev[lcp]) lcp++;
            if (lcp == b.Length && lcp == prev.Length)
            {
                nodeTokCount[path[^1]]++; // same bytes as the previous token
                continue;
            }
            while (path.Count > lcp) { nodeEnd[path[^1]] = nodeByte.Count; path.RemoveAt(path.Count - 1); }
            for (int d = lcp; d < b.Length; d++)
            {
                path.Add(nodeByte.Count);
                nodeByte.Add(b[d]);
                nodeDepth.Add(d + 1);
                nodeEnd.Add(-1);
                nodeTokFirst.Add(-1);
                nodeTokCount.Add(0);
            }
            nodeTokFirst[path[^1]] = k;
            nodeTokCount[path[^1]] = 1;
            prev = b;
        }
        while (path.Count > 0) { nodeEnd[path[^1]] = nodeByte.Count; path.RemoveAt(path.Count - 1); }
        SortedTokens = ids;
        NodeByte = nodeByte.ToArray();
        NodeDepth = nodeDepth.ToArray();
        NodeEnd = nodeEnd.ToArray();
        NodeTokFirst = nodeTokFirst.ToArray();
        NodeTokCount = nodeTokCount.ToArray();
        MaxDepth = NodeDepth.Length == 0 ? 0 : NodeDepth.Max();
    }

    public int[] SortedTokens { get; }
    public byte[] NodeByte { get; }
    public int[] NodeDepth { get; }
    public int[] NodeEnd { get; }
    public int[] NodeTokFirst { get; }
    public int[] NodeTokCount { get; }
    public int MaxDepth { get; }
    public int NumNodes => NodeByte.Length;
}

/// <summary>Builds the grammar's view of a tokenizer.</summary>
public static class TokenizerVocabs
{
    /// <param name="modelVocabSize">The logits' width (config vocab_size), which may exceed the tokenizer's ids.</param>
    public static TokenizerVocab From(Pipeline.Models.Tokenizers.HfTokenizer tokenizer, IReadOnlyCollection<int> eosTokenIds, int modelVocabSize)
    {
        var bytes = tokenizer.TokenBytesTable();
        if (bytes.Length > modelVocabSize) Array.Resize(ref bytes, modelVocabSize); // ids the model cannot emit
        return new TokenizerVocab(bytes, eosTokenIds, modelVocabSize);
    }
}
