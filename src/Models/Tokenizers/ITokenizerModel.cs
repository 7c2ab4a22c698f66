namespace Pipeline.Models.Tokenizers;

/// <summary>Turns one pre-token into ids (tokenizer.json "model").</summary>
internal interface ITokenizerModel
{
    void Tokenize(string word, List<int> ids);

    string? IdToToken(int id);

    int? TokenToId(string token);

    /// <summary>All (token, id) pairs of the model vocabulary.</summary>
    IEnumerable<KeyValuePair<string, int>> Vocab { get; }
}

/// <summary>Shared vocabulary storage: token to id and id to token.</summary>
internal sealed class Vocabulary
{
    private readonly Dictionary<string, int> _toId;
    private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanLookup;
    private readonly string?[] _toToken;

    public Vocabulary(Dictionary<string, int> toId)
    {
        _toId = toId;
        _spanLookup = toId.GetAlternateLookup<ReadOnlySpan<char>>();
        int max = toId.Count == 0 ? -1 : toId.Values.Max();
        _toToken = new string?[max + 1];
        foreach (var (token, id) in toId) _toToken[id] = token;
    }

    public int Count => _toId.Count;

    public IEnumerable<KeyValuePair<string, int>> Entries => _toId;

    public bool TryGetId(ReadOnlySpan<char> token, out int id) => _spanLookup.TryGetValue(token, out id);

    public int? Id(string token) => _toId.TryGetValue(token, out int id) ? id : null;

    public string? Token(int id) => (uint)id < (uint)_toToken.Length ? _toToken[id] : null;
}
