namespace Pipeline.Models.Tokenizers;

/// <summary>WordPiece: greedy longest-match-first, continuation pieces carry a prefix (usually "##").</summary>
internal sealed class WordPieceModel(Vocabulary vocab, int unkId, string prefix, int maxInputCharsPerWord) : ITokenizerModel
{
    public IEnumerable<KeyValuePair<string, int>> Vocab => vocab.Entries;

    public string? IdToToken(int id) => vocab.Token(id);

    public int? TokenToId(string token) => vocab.Id(token);

    public void Tokenize(string word, List<int> ids)
    {
        if (word.Length == 0) return;
        int chars = 0;
        foreach (var _ in word.EnumerateRunes()) chars++;
        if (chars > maxInputCharsPerWord) { ids.Add(unkId); return; }
        int mark = ids.Count;
        int start = 0;
        while (start < word.Length)
        {
            int end = word.Length;
            int found = -1;
            while (start < end)
            {
                ReadOnlySpan<char> sub = word.AsSpan(start, end - start);
                bool hit;
                int id;
                if (start > 0)
                {
                    string candidate = string.Concat(prefix, sub);
                    hit = vocab.TryGetId(candidate, out id);
                }
                else hit = vocab.TryGetId(sub, out id);
                if (hit) { found = id; break; }
                end--;
                if (end > start && char.IsLowSurrogate(word[end]) && char.IsHighSurrogate(word[end - 1])) end--;
            }
            if (found < 0)
            {
                ids.RemoveRange(mark, ids.Count - mark);
                ids.Add(unkId);
                return;
            }
            ids.Add(found);
            start = end;
        }
    }
}
