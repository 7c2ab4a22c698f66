namespace Pipeline.Models.Tokenizers;

/// <summary>
/// A Hugging Face tokenizer loaded from a model directory (tokenizer.json + tokenizer_config.json), producing the same
/// ids and text as transformers' tokenizer for that directory.
/// </summary>
public sealed class HfTokenizer
{
    private readonly TokenizerPipeline _pipeline;
    private readonly Dictionary<int, AddedToken> _addedById = [];
    private readonly Dictionary<string, int> _addedByContent = new(StringComparer.Ordinal);
    private readonly HashSet<int> _skippable = [];
    private readonly Dictionary<int, string> _decodeStrings = [];
    private readonly AddedTokenSplitter _rawSplitter;
    private readonly AddedTokenSplitter _normalizedSplitter;

    private HfTokenizer(TokenizerPipeline pipeline, TokenizerConfig config, string source)
    {
        _pipeline = pipeline;
        Source = source;
        foreach (var t in pipeline.AddedTokens.Concat(config.AddedTokensDecoder))
        {
            if (_addedById.ContainsKey(t.Id)) continue;
            _addedById[t.Id] = t;
            _addedByContent.TryAdd(t.Content, t.Id);
            if (t.Special) _skippable.Add(t.Id);
            // The tokenizers library decodes a normalized added token as its normalized form.
            if (t.Normalized && pipeline.Normalizer is not null) _decodeStrings[t.Id] = pipeline.Normalizer.Normalize(t.Content);
        }
        var ordered = _addedById.Values.OrderBy(t => t.Id).ToList();
        _rawSplitter = new AddedTokenSplitter(ordered.Where(t => !t.Normalized || pipeline.Normalizer is null).Select(t => (t.Content, t)));
        _normalizedSplitter = new AddedTokenSplitter(ordered.Where(t => t.Normalized && pipeline.Normalizer is not null)
            .Select(t => (pipeline.Normalizer!.Normalize(t.Content), t)));

        var ids = new HashSet<int>(_addedById.Keys);
        foreach (var kv in pipeline.Model.Vocab) ids.Add(kv.Value);
        VocabSize = ids.Count;

        BosToken = config.BosToken;
        EosToken = config.EosToken;
        PadToken = config.PadToken;
        UnkToken = config.UnkToken;
        BosTokenId = BosToken is null ? null : TokenToId(BosToken);
        EosTokenId = EosToken is null ? null : TokenToId(EosToken);
        PadTokenId = PadToken is null ? null : TokenToId(PadToken);
        UnkTokenId = UnkToken is null ? null : TokenToId(UnkToken);
        var special = new HashSet<int>(_skippable);
        foreach (var id in new[] { BosTokenId, EosTokenId, PadTokenId, UnkTokenId })
            if (id is int i) special.Add(i);
        foreach (var s in config.AdditionalSpecialTokens)
            if (TokenToId(s) is int i) special.Add(i);
        SpecialTokenIds = special;
        ModelMaxLength = config.ModelMaxLength;
        ChatTemplates = new Dictionary<string, string>(config.ChatTemplates, StringComparer.Ordinal);
        ChatTemplate = ChatTemplates.TryGetValue("default", out var t0) ? t0 : null;
    }

    /// <summary>Whether a model directory ships tokenizer files <see cref="Load"/> reads (or names as unreadable):
    /// tokenizer.json, vocab.json, vocab.txt, a SentencePiece or tiktoken tokenizer.model, or a *.tiktoken vocabulary
    /// (Qwen's qwen.tiktoken, Hunyuan's hy.tiktoken).</summary>
    public static bool HasFiles(string dir) =>
        File.Exists(Path.Combine(dir, "tokenizer.json")) || File.Exists(Path.Combine(dir, "vocab.json")) || File.Exists(Path.Combine(dir, "vocab.txt"))
        || TokenizerModelFile.Find(dir) != null;

    /// <summary>Loads the tokenizer of a model directory. Throws <see cref="TokenizerLoadException"/> naming the file and the problem.</summary>
    public static HfTokenizer Load(string dir)
    {
        if (!Directory.Exists(dir)) throw new TokenizerLoadException(dir, "directory does not exist");
        var config = TokenizerConfig.Load(dir);
        string tokJson = Path.Combine(dir, "tokenizer.json");
        string vocabJson = Path.Combine(dir, "vocab.json"), mergesTxt = Path.Combine(dir, "merges.txt");
        TokenizerPipeline pipeline;
        string source;
        // tokenizer.json first: it is this project's own, faster path and carries the full pipeline.
        if (File.Exists(tokJson)) (pipeline, source) = (TokenizerJson.Load(tokJson), "tokenizer.json");
        else if (File.Exists(vocabJson) && File.Exists(mergesTxt)) (pipeline, source) = (TokenizerJson.LoadGpt2Files(vocabJson, mergesTxt), "vocab.json + merges.txt");
        else if (TokenizerModelFile.Find(dir) is string modelFile) return FromModelFile(modelFile, config);
        else throw new TokenizerLoadException(dir, "no tokenizer.json, vocab.json + merges.txt, tokenizer.model or *.tiktoken found");
        TransformersCompat.Apply(pipeline, config);
        return new HfTokenizer(pipeline, config, source);
    }

    static HfTokenizer FromModelFile(string path, TokenizerConfig config)
    {
        var (pipeline, source) = TokenizerModelFile.Load(path, config);
        return new HfTokenizer(pipeline, config, source);
    }

    /// <summary>Which file and code path the tokenizer was read from, e.g. "tokenizer.json" or "tokenizer.model (SentencePiece BPE, ...)".</summary>
    public string Source { get; }

    /// <summary>Number of distinct token ids (model vocabulary plus added tokens), like len(tokenizer) in transformers.</summary>
    public int VocabSize { get; }
    public string? BosToken { get; }
    public string? EosToken { get; }
    public string? PadToken { get; }
    public string? UnkToken { get; }
    public int? BosTokenId { get; }
    public int? EosTokenId { get; }
    public int? PadTokenId { get; }
    public int? UnkTokenId { get; }
    /// <summary>Ids of special added tokens and of the configured bos/eos/pad/unk tokens.</summary>
    public IReadOnlySet<int> SpecialTokenIds { get; }
    /// <summary>tokenizer_config.json model_max_length, or null when absent or "unlimited" (1e30).</summary>
    public int? ModelMaxLength { get; }
    /// <summary>The default chat template (Jinja source), or null.</summary>
    public string? ChatTemplate { get; }
    /// <summary>All named chat templates; the default one is under "default".</summary>
    public IReadOnlyDictionary<string, string> ChatTemplates { get; }

    public int[] Encode(string text, bool addSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(text);
        var ids = new List<int>(text.Length / 3 + 4);
        var segments = new List<Segment>();
        var inner = new List<Segment>();
        var pieces = new List<Piece>();
        _rawSplitter.Split(text, atStart: true, segments);
        foreach (var seg in segments)
        {
            if (seg.Text is null) { ids.Add(seg.Id); continue; }
            string normalized = _pipeline.Normalizer?.Normalize(seg.Text) ?? seg.Text;
            inner.Clear();
            _normalizedSplitter.Split(normalized, seg.AtStart, inner);
            foreach (var part in inner)
            {
                if (part.Text is null) { ids.Add(part.Id); continue; }
                if (_pipeline.Model is ISegmentTokenizer whole) { whole.Tokenize(part.Text, part.AtStart, ids); continue; }
                pieces.Clear();
                var piece = new Piece(part.Text, part.AtStart);
                if (_pipeline.PreTokenizer is null) pieces.Add(piece);
                else _pipeline.PreTokenizer.Split(piece, pieces);
                foreach (var p in pieces) _pipeline.Model.Tokenize(p.Text, ids);
            }
        }
        if (addSpecialTokens && _pipeline.PostProcessor is not null) ids = _pipeline.PostProcessor.Process(ids);
        return ids.ToArray();
    }

    /// <summary>
    /// Decodes ids to text as the tokenizers library does. <paramref name="spacesBetweenSpecialTokens"/> only affects
    /// slow (Python) tokenizers in transformers; fast tokenizers, which this mirrors, ignore it.
    /// </summary>
    /// <summary>
    /// A text pair as a cross-encoder reads it: both encoded without special tokens, then joined by the
    /// post-processor's pair template (BERT: [CLS] a [SEP] b [SEP] with b typed 1); plain concatenation when there is none.
    /// </summary>
    public (int[] Ids, int[] TypeIds) EncodePair(string first, string second)
    {
        var a = Encode(first, addSpecialTokens: false).ToList();
        var b = Encode(second, addSpecialTokens: false).ToList();
        if (_pipeline.PostProcessor?.ProcessPair(a, b) is { } joined) return (joined.Ids.ToArray(), joined.TypeIds.ToArray());
        return ([.. a, .. b], [.. Enumerable.Repeat(0, a.Count), .. Enumerable.Repeat(1, b.Count)]);
    }

    public string Decode(IReadOnlyList<int> ids, bool skipSpecialTokens = false, bool spacesBetweenSpecialTokens = true)
    {
        ArgumentNullException.ThrowIfNull(ids);
        var tokens = new List<string>(ids.Count);
        foreach (int id in ids)
        {
            string token = TokenString(id);
            if (skipSpecialTokens && _skippable.Contains(id)) continue;
            tokens.Add(token);
        }
        return TokensToString(tokens);
    }

    /// <summary>
    /// Each token id's bytes as it contributes to decoded text (byte-level tokens mapped back to their bytes, byte-fallback
    /// &lt;0xXX&gt; tokens as that byte, ▁ as a space), for structured outputs; null for special tokens and unused ids.
    /// </summary>
    public byte[]?[] TokenBytesTable()
    {
        int maxId = _pipeline.Model.Vocab.Select(kv => kv.Value).DefaultIfEmpty(-1).Max();
        if (_addedById.Count > 0) maxId = Math.Max(maxId, _addedById.Keys.Max());
        var table = new byte[]?[maxId + 1];
        bool byteLevel = _pipeline.Decoder != null && string.Concat(_pipeline.Decoder.Decode(["\u0120a"])) == " a";
        foreach (var (token, id) in _pipeline.Model.Vocab) table[id] = RawBytes(token, byteLevel);
        foreach (var (id, t) in _addedById) table[id] = t.Special ? null : System.Text.Encoding.UTF8.GetBytes(t.Content);
        return table;
    }

    byte[] RawBytes(string token, bool byteLevel)
    {
        if (byteLevel)
        {
            var bytes = new byte[token.Length];
            for (int i = 0; i < token.Length; i++)
            {
                int b = ByteLevelAlphabet.CharToByte(token[i]);
                if (b < 0) return System.Text.Encoding.UTF8.GetBytes(token);
                bytes[i] = (byte)b;
            }
            return bytes;
        }
        if (_pipeline.ByteFallback && token.Length == 6 && token.StartsWith("<0x", StringComparison.Ordinal) && token[5] == '>'
            && byte.TryParse(token.AsSpan(3, 2), System.Globalization.NumberStyles.HexNumber, null, out byte raw))
            return [raw];
        return System.Text.Encoding.UTF8.GetBytes(token.Replace('\u2581', ' '));
    }

    public string? IdToToken(int id) => _addedById.TryGetValue(id, out var t) ? t.Content : _pipeline.Model.IdToToken(id);

    public int? TokenToId(string token) => _addedByContent.TryGetValue(token, out int id) ? id : _pipeline.Model.TokenToId(token);

    /// <summary>The token string of an id; throws <see cref="ArgumentException"/> for an unknown id.</summary>
    internal string TokenString(int id) => DecodeString(id) ?? throw new ArgumentException($"Unknown token id {id} (vocabulary size {VocabSize}).", nameof(id));

    /// <summary>The string an id contributes to decoding, or null for an unknown id.</summary>
    internal string? DecodeString(int id) => _decodeStrings.TryGetValue(id, out var s) ? s : IdToToken(id);

    internal ITokenizerModel Model => _pipeline.Model;

    internal bool IsSkippableSpecial(int id) => _skippable.Contains(id);

    /// <summary>transformers' convert_tokens_to_string: the decoder chain over token strings.</summary>
    internal string TokensToString(List<string> tokens)
    {
        if (_pipeline.Decoder is null) return string.Join(' ', tokens);
        return string.Concat(_pipeline.Decoder.Decode(tokens));
    }
}
