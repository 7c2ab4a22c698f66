using Microsoft.ML.Tokenizers;

namespace Pipeline.Models.Tokenizers;

/// <summary>
/// tokenizer.model (a SentencePiece model proto, BPE or Unigram, with byte fallback) run by Microsoft.ML.Tokenizers'
/// SentencePieceTokenizer, for checkpoints that ship no tokenizer.json. As transformers' LlamaTokenizer with
/// legacy=false, the dummy-prefix "▁" starts only the first run of text, not the runs after special tokens.
/// </summary>
internal sealed class SentencePieceModel : ITokenizerModel, ISegmentTokenizer
{
    readonly SentencePieceTokenizer _sp;
    readonly Vocabulary _vocab;
    readonly bool _prefixEveryRun;

    readonly SentencePieceProto.TrainerSpec _spec;

    SentencePieceModel(SentencePieceTokenizer sp, bool prefixEveryRun, SentencePieceProto.TrainerSpec spec, List<string> pieces)
    {
        _sp = sp;
        _prefixEveryRun = prefixEveryRun;
        _spec = spec;
        Kind = spec.ModelType == 1 ? "Unigram" : "BPE";
        // Ids and piece names straight from the proto (the library's own vocabulary leaves out byte pieces).
        var vocab = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < pieces.Count; i++) vocab.TryAdd(pieces[i], i);
        _vocab = new Vocabulary(vocab);
    }

    /// <param name="legacy">tokenizer_config.json "legacy": true (or unset) puts the dummy prefix before every run of text.</param>
    public static SentencePieceModel Load(string path, bool legacy)
    {
        byte[] proto = File.ReadAllBytes(path);
        SentencePieceProto.TrainerSpec spec;
        try { spec = SentencePieceProto.Read(proto); }
        catch (Exception e) when (e is FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            throw new TokenizerLoadException(path, $"not a SentencePiece model: {e.Message}", e);
        }
        // Microsoft.ML.Tokenizers needs bos, eos and unk pieces; models without bos (T5) or eos get them pointed at unk,
        // and those names are kept out of the vocabulary below.
        var missing = new Dictionary<int, int>();
        if (spec.BosId < 0) missing[SentencePieceProto.BosIdField] = spec.UnkId;
        if (spec.EosId < 0) missing[SentencePieceProto.EosIdField] = spec.UnkId;
        try
        {
            var patched = missing.Count == 0 ? proto : SentencePieceProto.Patch(proto, missing);
            if (spec.ModelType == 1) patched = SentencePieceProto.RetypeBytePieces(patched);
            using var stream = new MemoryStream(patched);
            var sp = SentencePieceTokenizer.Create(stream, addBeginningOfSentence: false, addEndOfSentence: false);
            return new SentencePieceModel(sp, legacy, spec, SentencePieceProto.Pieces(proto));
        }
        catch (Exception e) when (e is not IOException and not UnauthorizedAccessException)
        {
            throw new TokenizerLoadException(path, $"not a SentencePiece model Microsoft.ML.Tokenizers can read: {e.Message}", e);
        }
    }

    public bool AddDummyPrefix => _sp.AddDummyPrefix;
    public bool ByteFallback => _sp.ByteFallback;
    public string? BosToken => _spec.BosId >= 0 ? _sp.BeginningOfSentenceToken : null;
    public string? EosToken => _spec.EosId >= 0 ? _sp.EndOfSentenceToken : null;
    public string? UnkToken => _sp.UnknownToken;

    /// <summary>"BPE" or "Unigram", as the model proto's trainer_spec.model_type says.</summary>
    public string Kind { get; }

    public void Tokenize(string word, List<int> ids) => Tokenize(word, atStart: true, ids);

    public void Tokenize(string text, bool atStart, List<int> ids)
    {
        if (text.Length == 0) return;
        if (atStart || _prefixEveryRun || !_sp.AddDummyPrefix)
        {
            ids.AddRange(_sp.EncodeToIds(text, addBeginningOfSentence: false, addEndOfSentence: false));
            return;
        }
        // The normalized run without the dummy prefix the normalizer puts first.
        var normalized = _sp.Normalizer!.Normalize(text);
        if (normalized.StartsWith('\u2581')) normalized = normalized[1..];
        if (normalized.Length == 0) return;
        ids.AddRange(_sp.EncodeToIds(normalized, addBeginningOfSentence: false, addEndOfSentence: false, considerPreTokenization: false, considerNormalization: false));
    }

    public string? IdToToken(int id) => _vocab.Token(id);

    public int? TokenToId(string token) => _vocab.Id(token);

    public IEnumerable<KeyValuePair<string, int>> Vocab => _vocab.Entries;
}
