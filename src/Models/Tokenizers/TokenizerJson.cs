using System.Text.Json;

namespace Pipeline.Models.Tokenizers;

/// <summary>The pipeline read from tokenizer.json (or from GPT-2 style vocab.json + merges.txt).</summary>
internal sealed class TokenizerPipeline
{
    public INormalizer? Normalizer { get; set; }
    public IPreTokenizer? PreTokenizer { get; set; }
    public required ITokenizerModel Model { get; init; }
    public IPostProcessor? PostProcessor { get; set; }
    public IDecoder? Decoder { get; set; }
    public List<AddedToken> AddedTokens { get; } = [];
    /// <summary>Model type name ("BPE", "WordPiece", ...).</summary>
    public required string ModelType { get; init; }
    public bool ByteFallback { get; init; }
}

internal static class TokenizerJson
{
    public static TokenizerPipeline Load(string path)
    {
        var json = new JsonReader(path);
        using var doc = TokenizerConfig.Parse(path);
        var root = doc.RootElement;
        if (root.ValueKind != JsonValueKind.Object) throw json.Error("the top level must be a JSON object");
        var modelEl = json.Required(root, "model", "$");
        var (model, type, byteFallback) = LoadModel(json, modelEl);
        var pipeline = new TokenizerPipeline
        {
            Model = model,
            ModelType = type,
            ByteFallback = byteFallback,
            Normalizer = json.Optional(root, "normalizer") is { } n ? NormalizerLoader.Load(json, n, "normalizer") : null,
            PreTokenizer = json.Optional(root, "pre_tokenizer") is { } p ? PreTokenizerLoader.Load(json, p, "pre_tokenizer") : null,
            PostProcessor = json.Optional(root, "post_processor") is { } pp ? PostProcessorLoader.Load(json, pp, "post_processor") : null,
            Decoder = json.Optional(root, "decoder") is { } d ? DecoderLoader.Load(json, d, "decoder") : null,
        };
        if (json.Optional(root, "added_tokens") is { } added)
        {
            if (added.ValueKind != JsonValueKind.Array) throw json.Error("\"added_tokens\" must be an array");
            int i = 0;
            foreach (var t in added.EnumerateArray())
            {
                int id = json.Int(t, "id", -1);
                if (id < 0) throw json.Error($"missing \"added_tokens[{i}].id\"");
                pipeline.AddedTokens.Add(ReadAddedToken(json, t, id, $"added_tokens[{i}]"));
                i++;
            }
        }
        return pipeline;
    }

    internal static AddedToken ReadAddedToken(JsonReader json, JsonElement t, int id, string path)
    {
        bool special = json.Bool(t, "special", false);
        return new AddedToken(id, json.String(t, "content", path), special, json.Bool(t, "lstrip", false), json.Bool(t, "rstrip", false),
            json.Bool(t, "single_word", false), json.Bool(t, "normalized", !special));
    }

    private static (ITokenizerModel, string, bool) LoadModel(JsonReader json, JsonElement m)
    {
        if (m.ValueKind != JsonValueKind.Object) throw json.Error("\"model\" must be an object");
        string type = json.OptString(m, "type") ?? InferType(m)
            ?? throw json.Error("missing \"model.type\" and the model kind cannot be inferred");
        switch (type)
        {
            case "BPE":
            {
                var vocab = ReadVocab(json, m);
                var merges = ReadMerges(json, json.Required(m, "merges", "model"));
                bool byteFallback = json.Bool(m, "byte_fallback", false);
                var model = new BpeModel(vocab, merges, json.OptString(m, "unk_token"), json.OptString(m, "continuing_subword_prefix"),
                    json.OptString(m, "end_of_word_suffix"), json.Bool(m, "fuse_unk", false), byteFallback, json.Bool(m, "ignore_merges", false),
                    json.Error);
                return (model, type, byteFallback);
            }
            case "WordPiece":
            {
                var vocab = ReadVocab(json, m);
                string unk = json.OptString(m, "unk_token") ?? "[UNK]";
                int unkId = vocab.Id(unk) ?? throw json.Error($"model.unk_token \"{unk}\" is not in model.vocab");
                return (new WordPieceModel(vocab, unkId, json.OptString(m, "continuing_subword_prefix") ?? "##",
                    json.Int(m, "max_input_chars_per_word", 100)), type, false);
            }
            case "WordLevel":
            {
                var vocab = ReadVocab(json, m);
                string? unk = json.OptString(m, "unk_token");
                int? unkId = unk is null ? null : vocab.Id(unk) ?? throw json.Error($"model.unk_token \"{unk}\" is not in model.vocab");
                return (new WordLevelModel(vocab, unkId), type, false);
            }
            case "Unigram":
            {
                var arr = json.Required(m, "vocab", "model");
                if (arr.ValueKind != JsonValueKind.Array) throw json.Error("\"model.vocab\" must be an array of [piece, score] for Unigram");
                var pieces = new List<(string, double)>();
                foreach (var item in arr.EnumerateArray())
                {
                    if (item.ValueKind != JsonValueKind.Array || item.GetArrayLength() != 2 || item[0].ValueKind != JsonValueKind.String)
                        throw json.Error("\"model.vocab\" entries must be [piece, score]");
                    pieces.Add((item[0].GetString()!, item[1].GetDouble()));
                }
                int unkId = json.Int(m, "unk_id", -1);
                if (unkId < 0 || unkId >= pieces.Count) throw json.Error("Unigram \"model.unk_id\" is missing or out of range");
                bool byteFallback = json.Bool(m, "byte_fallback", false);
                return (new UnigramModel(pieces, unkId, byteFallback), type, byteFallback);
            }
            default:
                throw json.Error($"unsupported model type \"{type}\"");
        }
    }

    private static string? InferType(JsonElement m)
    {
        if (m.TryGetProperty("merges", out _)) return "BPE";
        if (m.TryGetProperty("vocab", out var v) && v.ValueKind == JsonValueKind.Array) return "Unigram";
        if (m.TryGetProperty("max_input_chars_per_word", out _)) return "WordPiece";
        return null;
    }

    private static Vocabulary ReadVocab(JsonReader json, JsonElement m)
    {
        var v = json.Required(m, "vocab", "model");
        if (v.ValueKind != JsonValueKind.Object) throw json.Error("\"model.vocab\" must be an object of token to id");
        return ReadVocabObject(json, v, "model.vocab");
    }

    internal static Vocabulary ReadVocabObject(JsonReader json, JsonElement v, string path)
    {
        var dict = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var prop in v.EnumerateObject())
        {
            if (!prop.Value.TryGetInt32(out int id) || id < 0) throw json.Error($"\"{path}\" id of \"{prop.Name}\" must be a non-negative integer");
            dict[prop.Name] = id;
        }
        return new Vocabulary(dict);
    }

    private static List<(string, string)> ReadMerges(JsonReader json, JsonElement arr)
    {
        if (arr.ValueKind != JsonValueKind.Array) throw json.Error("\"model.merges\" must be an array");
        var list = new List<(string, string)>(arr.GetArrayLength());
        foreach (var item in arr.EnumerateArray())
        {
            if (item.ValueKind == JsonValueKind.String)
            {
                string s = item.GetString()!;
                int sp = s.IndexOf(' ');
                if (sp < 0 || s.IndexOf(' ', sp + 1) >= 0) throw json.Error($"merge \"{s}\" must be two tokens separated by one space");
                list.Add((s[..sp], s[(sp + 1)..]));
            }
            else if (item.ValueKind == JsonValueKind.Array && item.GetArrayLength() == 2)
                list.Add((item[0].GetString() ?? "", item[1].GetString() ?? ""));
            else throw json.Error("\"model.merges\" entries must be \"a b\" strings or [a, b] pairs");
        }
        return list;
    }

    /// <summary>The GPT-2 layout: byte-level BPE from vocab.json and merges.txt.</summary>
    public static TokenizerPipeline LoadGpt2Files(string vocabPath, string mergesPath)
    {
        var json = new JsonReader(vocabPath);
        using var doc = TokenizerConfig.Parse(vocabPath);
        if (doc.RootElement.ValueKind != JsonValueKind.Object) throw json.Error("must be an object of token to id");
        var vocab = ReadVocabObject(json, doc.RootElement, "vocab.json");
        var merges = new List<(string, string)>();
        foreach (var line in File.ReadLines(mergesPath))
        {
            if (line.StartsWith("#version", StringComparison.Ordinal) || line.Length == 0) continue;
            int sp = line.IndexOf(' ');
            if (sp < 0) throw new TokenizerLoadException(mergesPath, $"merge line \"{line}\" must be two tokens separated by a space");
            merges.Add((line[..sp], line[(sp + 1)..]));
        }
        var model = new BpeModel(vocab, merges, null, null, null, false, false, false, p => new TokenizerLoadException(mergesPath, p));
        return new TokenizerPipeline
        {
            Model = model,
            ModelType = "BPE",
            PreTokenizer = new ByteLevelPreTokenizer(addPrefixSpace: false, useRegex: true),
            Decoder = new ByteLevelDecoder(),
        };
    }
}
