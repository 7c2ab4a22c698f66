namespace Pipeline.Models.Tokenizers;

/// <summary>WordLevel: each pre-token is looked up whole; anything else is the unknown token.</summary>
internal sealed class WordLevelModel(Vocabulary vocab, int? unkId) : ITokenizerModel
{
    public IEnumerable<KeyValuePair<string, int>> Vocab => vocab.Entries;

    public string? IdToToken(int id) => vocab.Token(id);

    public int? TokenToId(string token) => vocab.Id(token);

    public void Tokenize(string word, List<int> ids)
    {
        if (word.Length == 0) return;
        if (vocab.TryGetId(word, out int id)) ids.Add(id);
        else if (unkId is int unk) ids.Add(unk);
        else throw new ArgumentException($"\"{word}\" is not in the WordLevel vocabulary and the model has no unk_token.");
    }
}
