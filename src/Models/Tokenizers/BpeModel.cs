using System.Collections.Concurrent;
using System.Text;

namespace Pipeline.Models.Tokenizers;

/// <summary>Byte-pair encoding: start from characters (or byte-fallback tokens) and apply merges by rank.</summary>
internal sealed class BpeModel : ITokenizerModel
{
    private const int CacheCapacity = 20_000;
    private const int MaxCachedWordLength = 256;

    private readonly Vocabulary _vocab;
    private readonly Dictionary<long, (int Rank, int NewId)> _merges;
    private readonly int? _unkId;
    private readonly string? _prefix;
    private readonly string? _suffix;
    private readonly bool _fuseUnk;
    private readonly bool _byteFallback;
    private readonly bool _ignoreMerges;
    private readonly int[] _byteTokenIds;
    private readonly ConcurrentDictionary<string, int[]> _cache = new();
    private const char Metaspace = '\u2581';

    public BpeModel(Vocabulary vocab, IReadOnlyList<(string Left, string Right)> merges, string? unkToken,
        string? continuingSubwordPrefix, string? endOfWordSuffix, bool fuseUnk, bool byteFallback, bool ignoreMerges,
        Func<string, Exception> error)
    {
        _vocab = vocab;
        _prefix = string.IsNullOrEmpty(continuingSubwordPrefix) ? null : continuingSubwordPrefix;
        _suffix = string.IsNullOrEmpty(endOfWordSuffix) ? null : endOfWordSuffix;
        _fuseUnk = fuseUnk;
        _byteFallback = byteFallback;
        _ignoreMerges = ignoreMerges;
        if (unkToken is not null)
            _unkId = vocab.Id(unkToken) ?? throw error($"model.unk_token \"{unkToken}\" is not in model.vocab");
        _merges = new Dictionary<long, (int, int)>(merges.Count);
        int prefixLength = _prefix?.Length ?? 0;
        for (int rank = 0; rank < merges.Count; rank++)
        {
            var (left, right) = merges[rank];
            int l = vocab.Id(left) ?? throw error($"merge {rank} (\"{left} {right}\"): \"{left}\" is not in model.vocab");
            int r = vocab.Id(right) ?? throw error($"merge {rank} (\"{left} {right}\"): \"{right}\" is not in model.vocab");
            string merged = left + (prefixLength > 0 && right.StartsWith(_prefix!, StringComparison.Ordinal) ? right[prefixLength..] : right);
            int n = vocab.Id(merged) ?? throw error($"merge {rank} (\"{left} {right}\"): \"{merged}\" is not in model.vocab");
            _merges.TryAdd(Key(l, r), (rank, n));
        }
        ChunkAtMetaspace = _prefix is null && _suffix is null && vocab.Count > 0 && !vocab.Entries.Any(e => ContainsInnerMetaspace(e.Key));
        _byteTokenIds = new int[256];
        for (int b = 0; b < 256; b++) _byteTokenIds[b] = vocab.Id($"<0x{b:X2}>") ?? -1;
    }

    public IEnumerable<KeyValuePair<string, int>> Vocab => _vocab.Entries;

    /// <summary>Whether long words are split at "▁" runs (see <see cref="TokenizeChunks"/>); settable for tests.</summary>
    internal bool ChunkAtMetaspace { get; set; }

    public string? IdToToken(int id) => _vocab.Token(id);

    public int? TokenToId(string token) => _vocab.Id(token);

    private static long Key(int left, int right) => ((long)left << 32) | (uint)right;

    public void Tokenize(string word, List<int> ids)
    {
        if (word.Length == 0) return;
        if (ChunkAtMetaspace && word.Length > MaxCachedWordLength / 4 && word.IndexOf(Metaspace, 1) > 0)
        {
            TokenizeChunks(word, ids);
            return;
        }
        TokenizeWord(word, ids);
    }

    /// <summary>
    /// SentencePiece-style input (Metaspace without splitting) reaches the model as one long word. When no vocabulary
    /// token has "▁" after another character, no merge can cross the start of a "▁" run, so the word splits there
    /// into independent chunks with the same result, and the chunks can be cached.
    /// </summary>
    private void TokenizeChunks(string word, List<int> ids)
    {
        int start = 0;
        for (int i = 1; i < word.Length; i++)
        {
            if (word[i] == Metaspace && word[i - 1] != Metaspace)
            {
                TokenizeWord(word[start..i], ids);
                start = i;
            }
        }
        TokenizeWord(word[start..], ids);
    }

    private static bool ContainsInnerMetaspace(string token)
    {
        for (int i = 1; i < token.Length; i++)
            if (token[i] == Metaspace && token[i - 1] != Metaspace) return true;
        return false;
    }

    private void TokenizeWord(string word, List<int> ids)
    {
        if (_cache.TryGetValue(word, out var cached))
        {
            ids.AddRange(cached);
            return;
        }
        int[] result = Compute(word);
        if (word.Length <= MaxCachedWordLength && _cache.Count < CacheCapacity) _cache.TryAdd(word, result);
        ids.AddRange(result);
    }

    private int[] Compute(string word)
    {
        if (_ignoreMerges && _vocab.TryGetId(word, out int whole)) return [whole];
        var symbols = InitialSymbols(word);
        if (symbols.Count > SmallWord) MergeAll(symbols);
        else if (symbols.Count > 1) MergeSmall(symbols);
        return symbols.ToArray();
    }

    private List<int> InitialSymbols(string word)
    {
        var symbols = new List<int>(word.Length);
        bool lastWasUnk = false;
        for (int i = 0; i < word.Length;)
        {
            int len = char.IsHighSurrogate(word[i]) && i + 1 < word.Length && char.IsLowSurrogate(word[i + 1]) ? 2 : 1;
            bool first = i == 0, last = i + len == word.Length;
            ReadOnlySpan<char> piece = word.AsSpan(i, len);
            i += len;
            if ((!first && _prefix is not null) || (last && _suffix is not null))
            {
                var sb = new StringBuilder();
                if (!first && _prefix is not null) sb.Append(_prefix);
                sb.Append(piece);
                if (last && _suffix is not null) sb.Append(_suffix);
                string decorated = sb.ToString();
                if (_vocab.TryGetId(decorated, out int did)) { symbols.Add(did); lastWasUnk = false; continue; }
            }
            else if (_vocab.TryGetId(piece, out int id))
            {
                symbols.Add(id);
                lastWasUnk = false;
                continue;
            }
            if (_byteFallback && TryAddBytes(piece, symbols)) { lastWasUnk = false; continue; }
            if (_unkId is int unk)
            {
                if (!(_fuseUnk && lastWasUnk)) symbols.Add(unk);
                lastWasUnk = true;
            }
        }
        return symbols;
    }

    private bool TryAddBytes(ReadOnlySpan<char> piece, List<int> symbols)
    {
        Span<byte> bytes = stackalloc byte[8];
        int n = Encoding.UTF8.GetBytes(piece, bytes);
        for (int k = 0; k < n; k++)
            if (_byteTokenIds[bytes[k]] < 0) return false;
        for (int k = 0; k < n; k++) symbols.Add(_byteTokenIds[bytes[k]]);
        return true;
    }

    private const int SmallWord = 24;

    /// <summary>For short words a rescan per merge beats the queue; same result (lowest rank, leftmost on ties).</summary>
    private void MergeSmall(List<int> symbols)
    {
        Span<int> ids = stackalloc int[symbols.Count];
        for (int i = 0; i < ids.Length; i++) ids[i] = symbols[i];
        int n = ids.Length;
        while (n > 1)
        {
            int bestRank = int.MaxValue, bestPos = -1, bestId = 0;
            for (int i = 0; i + 1 < n; i++)
            {
                if (_merges.TryGetValue(Key(ids[i], ids[i + 1]), out var m) && m.Rank < bestRank)
                {
                    bestRank = m.Rank;
                    bestPos = i;
                    bestId = m.NewId;
                }
            }
            if (bestPos < 0) break;
            ids[bestPos] = bestId;
            ids[(bestPos + 2)..n].CopyTo(ids[(bestPos + 1)..]);
            n--;
        }
        symbols.Clear();
        for (int i = 0; i < n; i++) symbols.Add(ids[i]);
    }

    /// <summary>Repeatedly merges the lowest-ranked adjacent pair (leftmost on ties), as the reference implementation does.</summary>
    private void MergeAll(List<int> symbols)
    {
        int n = symbols.Count;
        var id = symbols.ToArray();
        var prev = new int[n];
        var next = new int[n];
        var alive = new bool[n];
        for (int i = 0; i < n; i++) { prev[i] = i - 1; next[i] = i + 1 < n ? i + 1 : -1; alive[i] = true; }
        var queue = new PriorityQueue<(int Pos, int Left, int Right, int NewId), long>();
        for (int i = 0; i + 1 < n; i++) Enqueue(queue, i, id[i], id[i + 1]);
        while (queue.TryDequeue(out var top, out _))
        {
            int pos = top.Pos;
            if (!alive[pos] || next[pos] < 0) continue;
            int right = next[pos];
            if (id[pos] != top.Left || id[right] != top.Right) continue;
            id[pos] = top.NewId;
            alive[right] = false;
            next[pos] = next[right];
            if (next[pos] >= 0) prev[next[pos]] = pos;
            if (prev[pos] >= 0) Enqueue(queue, prev[pos], id[prev[pos]], id[pos]);
            if (next[pos] >= 0) Enqueue(queue, pos, id[pos], id[next[pos]]);
        }
        symbols.Clear();
        for (int i = 0; i >= 0; i = next[i]) symbols.Add(id[i]);
    }

    private void Enqueue(PriorityQueue<(int, int, int, int), long> queue, int pos, int left, int right)
    {
        if (_merges.TryGetValue(Key(left, right), out var m))
            queue.Enqueue((pos, left, right, m.NewId), ((long)m.Rank << 32) | (uint)pos);
    }
}
