namespace Pipeline.Models.Tokenizers;

/// <summary>
/// Streams generated token ids to text the way vLLM does: token strings are re-decoded over a short window
/// (prefix_offset..read_offset), and text is only released once it no longer ends in an incomplete UTF-8 sequence.
/// </summary>
public sealed class IncrementalDetokenizer
{
    // vLLM's INITIAL_INCREMENTAL_DETOKENIZATION_OFFSET: prompt tokens kept as left context.
    private const int InitialOffset = 5;

    private readonly HfTokenizer _tokenizer;
    private readonly bool _skipSpecialTokens;
    private readonly List<string> _tokens;
    private readonly List<int> _generated = [];
    private readonly System.Text.StringBuilder _text = new();
    private int _prefixOffset;
    private int _readOffset;

    public IncrementalDetokenizer(HfTokenizer tokenizer, IReadOnlyList<int> promptIds, bool skipSpecialTokens = true,
        bool spacesBetweenSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(tokenizer);
        ArgumentNullException.ThrowIfNull(promptIds);
        _tokenizer = tokenizer;
        _skipSpecialTokens = skipSpecialTokens;
        SpacesBetweenSpecialTokens = spacesBetweenSpecialTokens;
        _tokens = [];
        int from = Math.Max(0, promptIds.Count - InitialOffset - 2);
        for (int i = from; i < promptIds.Count; i++)
            if (TokenOf(promptIds[i]) is { } t) _tokens.Add(t);
        _readOffset = _tokens.Count;
        _prefixOffset = Math.Max(_readOffset - InitialOffset, 0);
    }

    /// <summary>Kept for API parity with vLLM; fast (tokenizer.json) tokenizers ignore it.</summary>
    public bool SpacesBetweenSpecialTokens { get; }

    /// <summary>The text released so far (the concatenation of all deltas).</summary>
    public string Text => _text.ToString();

    public IReadOnlyList<int> GeneratedIds => _generated;

    /// <summary>Adds one generated token and returns the text it completes (possibly empty).</summary>
    public string Append(int tokenId)
    {
        _generated.Add(tokenId);
        if (TokenOf(tokenId) is { } token) _tokens.Add(token);
        string prefixText = Window(_prefixOffset, _readOffset);
        string newText = Window(_prefixOffset, _tokens.Count);
        if (newText.Length <= prefixText.Length || newText.EndsWith('\uFFFD')) return "";
        string delta = newText[prefixText.Length..];
        _prefixOffset = _readOffset;
        _readOffset = _tokens.Count;
        _text.Append(delta);
        return delta;
    }

    private string? TokenOf(int id)
    {
        if (_skipSpecialTokens && _tokenizer.IsSkippableSpecial(id)) return null;
        // Like vLLM, ids outside the vocabulary (padded embedding rows) contribute nothing.
        return _tokenizer.DecodeString(id) ?? "";
    }

    private string Window(int start, int end) =>
        end <= start ? "" : _tokenizer.TokensToString(_tokens.GetRange(start, end - start));
}
