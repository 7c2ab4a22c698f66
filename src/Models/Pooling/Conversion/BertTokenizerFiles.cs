using System.Text.Json.Nodes;

namespace Pipeline.Models.Pooling.Conversion;

/// <summary>
/// Hugging Face tokenizer files for a BERT WordPiece vocabulary: tokenizer.json (BertNormalizer, BertPreTokenizer,
/// WordPiece model, [CLS] A [SEP] / [CLS] A [SEP] B [SEP] template), tokenizer_config.json, special_tokens_map.json.
/// </summary>
public static class BertTokenizerFiles
{
    static readonly string[] Specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];

    public static void Write(string dir, IReadOnlyList<string> vocab, bool lowercase, int modelMaxLength)
    {
        var ids = new Dictionary<string, int>(StringComparer.Ordinal);
        for (int i = 0; i < vocab.Count; i++) ids.TryAdd(vocab[i], i);
        foreach (var s in Specials)
            if (!ids.ContainsKey(s)) throw new InvalidDataException($"vocab.txt lacks the special token {s}");
        var vocabObj = new JsonObject();
        foreach (var (tok, id) in ids) vocabObj[tok] = id;
        JsonObject Special(string tok, int typeId) => new() { ["SpecialToken"] = new JsonObject { ["id"] = tok, ["type_id"] = typeId } };
        JsonObject Seq(string which, int typeId) => new() { ["Sequence"] = new JsonObject { ["id"] = which, ["type_id"] = typeId } };
        var tokenizer = new JsonObject
        {
            ["version"] = "1.0",
            ["truncation"] = null,
            ["padding"] = null,
            ["added_tokens"] = new JsonArray(Specials.OrderBy(s => ids[s]).Select(s => (JsonNode)new JsonObject
            {
                ["id"] = ids[s], ["content"] = s, ["single_word"] = false, ["lstrip"] = false, ["rstrip"] = false, ["normalized"] = false, ["special"] = true,
            }).ToArray()),
            ["normalizer"] = new JsonObject { ["type"] = "BertNormalizer", ["clean_text"] = true, ["handle_chinese_chars"] = true, ["strip_accents"] = null, ["lowercase"] = lowercase },
            ["pre_tokenizer"] = new JsonObject { ["type"] = "BertPreTokenizer" },
            ["post_processor"] = new JsonObject
            {
                ["type"] = "TemplateProcessing",
                ["single"] = new JsonArray(Special("[CLS]", 0), Seq("A", 0), Special("[SEP]", 0)),
                ["pair"] = new JsonArray(Special("[CLS]", 0), Seq("A", 0), Special("[SEP]", 0), Seq("B", 1), Special("[SEP]", 1)),
                ["special_tokens"] = new JsonObject
                {
                    ["[CLS]"] = new JsonObject { ["id"] = "[CLS]", ["ids"] = new JsonArray(ids["[CLS]"]), ["tokens"] = new JsonArray("[CLS]") },
                    ["[SEP]"] = new JsonObject { ["id"] = "[SEP]", ["ids"] = new JsonArray(ids["[SEP]"]), ["tokens"] = new JsonArray("[SEP]") },
                },
            },
            ["decoder"] = new JsonObject { ["type"] = "WordPiece", ["prefix"] = "##", ["cleanup"] = true },
            ["model"] = new JsonObject
            {
                ["type"] = "WordPiece", ["unk_token"] = "[UNK]", ["continuing_subword_prefix"] = "##", ["max_input_chars_per_word"] = 100, ["vocab"] = vocabObj,
            },
        };
        MiniLmConverter.WriteJson(Path.Combine(dir, "tokenizer.json"), tokenizer);
        MiniLmConverter.WriteJson(Path.Combine(dir, "tokenizer_config.json"), new JsonObject
        {
            ["tokenizer_class"] = "BertTokenizer", ["do_lower_case"] = lowercase, ["model_max_length"] = modelMaxLength,
            ["cls_token"] = "[CLS]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]", ["unk_token"] = "[UNK]", ["mask_token"] = "[MASK]",
            ["tokenize_chinese_chars"] = true, ["strip_accents"] = null, ["clean_up_tokenization_spaces"] = true,
        });
        MiniLmConverter.WriteJson(Path.Combine(dir, "special_tokens_map.json"), new JsonObject
        {
            ["cls_token"] = "[CLS]", ["sep_token"] = "[SEP]", ["pad_token"] = "[PAD]", ["unk_token"] = "[UNK]", ["mask_token"] = "[MASK]",
        });
    }
}
