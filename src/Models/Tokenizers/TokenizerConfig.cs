using System.Text.Json;

namespace Pipeline.Models.Tokenizers;

/// <summary>The parts of tokenizer_config.json (and chat_template.jinja) that affect encoding and generation.</summary>
internal sealed class TokenizerConfig
{
    public string? BosToken { get; private init; }
    public string? EosToken { get; private init; }
    public string? PadToken { get; private init; }
    public string? UnkToken { get; private init; }
    public bool? AddPrefixSpace { get; private init; }
    public bool? Legacy { get; private init; }
    public bool? AddBosToken { get; private init; }
    public bool? AddEosToken { get; private init; }
    /// <summary>A tiktoken vocabulary's pre-tokenizer regex ("pat_str"), when the config names one.</summary>
    public string? PatStr { get; private init; }
    public string? TokenizerClass { get; private init; }
    public int? ModelMaxLength { get; private init; }
    public Dictionary<string, string> ChatTemplates { get; } = new(StringComparer.Ordinal);
    public List<AddedToken> AddedTokensDecoder { get; } = [];
    public List<string> AdditionalSpecialTokens { get; } = [];

    public static TokenizerConfig Load(string dir)
    {
        string path = Path.Combine(dir, "tokenizer_config.json");
        TokenizerConfig config;
        if (File.Exists(path))
        {
            using var doc = Parse(path);
            config = FromJson(new JsonReader(path), doc.RootElement);
        }
        else
        {
            config = new TokenizerConfig();
        }
        string jinja = Path.Combine(dir, "chat_template.jinja");
        if (File.Exists(jinja)) config.ChatTemplates["default"] = File.ReadAllText(jinja);
        return config;
    }

    internal static JsonDocument Parse(string path)
    {
        try
        {
            return JsonDocument.Parse(File.ReadAllBytes(path), new JsonDocumentOptions { AllowTrailingCommas = true, CommentHandling = JsonCommentHandling.Skip });
        }
        catch (JsonException ex)
        {
            throw new TokenizerLoadException(path, $"invalid JSON: {ex.Message}", ex);
        }
    }

    private static TokenizerConfig FromJson(JsonReader json, JsonElement root)
    {
        if (root.ValueKind != JsonValueKind.Object) throw json.Error("the top level must be a JSON object");
        var config = new TokenizerConfig
        {
            BosToken = TokenContent(json.Optional(root, "bos_token")),
            EosToken = TokenContent(json.Optional(root, "eos_token")),
            PadToken = TokenContent(json.Optional(root, "pad_token")),
            UnkToken = TokenContent(json.Optional(root, "unk_token")),
            AddPrefixSpace = OptBool(json.Optional(root, "add_prefix_space")),
            Legacy = OptBool(json.Optional(root, "legacy")),
            AddBosToken = OptBool(json.Optional(root, "add_bos_token")),
            AddEosToken = OptBool(json.Optional(root, "add_eos_token")),
            PatStr = json.Optional(root, "pat_str") is { ValueKind: JsonValueKind.String } pat ? pat.GetString() : null,
            TokenizerClass = json.OptString(root, "tokenizer_class"),
            ModelMaxLength = json.Optional(root, "model_max_length") is { ValueKind: JsonValueKind.Number } m
                && m.TryGetDouble(out double d) && d >= 1 && d <= int.MaxValue ? (int)d : null,
        };
        switch (json.Optional(root, "chat_template"))
        {
            case { ValueKind: JsonValueKind.String } s:
                config.ChatTemplates["default"] = s.GetString()!;
                break;
            case { ValueKind: JsonValueKind.Array } list:
                foreach (var item in list.EnumerateArray())
                {
                    string name = json.String(item, "name", "chat_template[]");
                    config.ChatTemplates[name] = json.String(item, "template", "chat_template[]");
                }
                break;
        }
        if (json.Optional(root, "added_tokens_decoder") is { ValueKind: JsonValueKind.Object } atd)
        {
            foreach (var prop in atd.EnumerateObject())
            {
                if (!int.TryParse(prop.Name, out int id)) throw json.Error($"added_tokens_decoder key \"{prop.Name}\" is not an integer id");
                config.AddedTokensDecoder.Add(TokenizerJson.ReadAddedToken(json, prop.Value, id, "added_tokens_decoder"));
            }
        }
        if (json.Optional(root, "additional_special_tokens") is { ValueKind: JsonValueKind.Array } extra)
            foreach (var t in extra.EnumerateArray())
                if (TokenContent(t) is { } c) config.AdditionalSpecialTokens.Add(c);
        return config;
    }

    private static bool? OptBool(JsonElement? e) => e?.ValueKind switch
    {
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        _ => null,
    };

    /// <summary>A special token is written either as a string or as an AddedToken object with "content".</summary>
    private static string? TokenContent(JsonElement? e) => e switch
    {
        { ValueKind: JsonValueKind.String } s => s.GetString(),
        { ValueKind: JsonValueKind.Object } o when o.TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String => c.GetString(),
        _ => null,
    };
}
