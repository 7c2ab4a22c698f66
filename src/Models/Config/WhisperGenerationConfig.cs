using System.Text.Json.Nodes;
using Pipeline.Models.Sampling;

namespace Pipeline.Models.Config;

/// <summary>
/// What Whisper's generation_config.json gives the decoding: the special tokens of the decoder prompt
/// (<c>&lt;|startoftranscript|&gt;</c>, the languages, the tasks, <c>&lt;|notimestamps|&gt;</c>, <c>&lt;|startofprev|&gt;</c>),
/// end of text, suppress_tokens, begin_suppress_tokens and max_initial_timestamp_index.
/// </summary>
public sealed record WhisperGenerationConfig
{
    public required int DecoderStartTokenId { get; init; }
    public required int EosTokenId { get; init; }
    public required int NoTimestampsTokenId { get; init; }
    public int? PrevSotTokenId { get; init; }
    /// <summary>Language code ("en") to its token id.</summary>
    public required IReadOnlyDictionary<string, int> LangToId { get; init; }
    public required IReadOnlyDictionary<string, int> TaskToId { get; init; }
    public IReadOnlyList<int> SuppressTokens { get; init; } = [];
    public IReadOnlyList<int> BeginSuppressTokens { get; init; } = [];
    public int? MaxInitialTimestampIndex { get; init; } = 50;
    public bool IsMultilingual { get; init; } = true;
    public int TimestampBegin => NoTimestampsTokenId + 1;
    /// <summary>Seconds per timestamp token step (Whisper's 20 ms).</summary>
    public const double TimePrecision = 0.02;

    public static WhisperGenerationConfig Load(string modelDir)
    {
        var path = Path.Combine(modelDir, "generation_config.json");
        if (!File.Exists(path)) throw new ModelConfigException($"{modelDir} has no generation_config.json, which a Whisper model needs (its special tokens)");
        var o = JsonNode.Parse(File.ReadAllText(path)) as JsonObject ?? throw new ModelConfigException($"{path} is not a JSON object");
        int Req(string k) => o[k] is JsonValue v && v.TryGetValue<int>(out var i) ? i
            : o[k] is JsonArray a && a.Count > 0 ? a[0]!.GetValue<int>()
            : throw new ModelConfigException($"{path}: '{k}' is required for Whisper");
        var langs = (o["lang_to_id"] as JsonObject ?? new JsonObject())
            .ToDictionary(kv => kv.Key.Trim('<', '|', '>'), kv => kv.Value!.GetValue<int>());
        var tasks = (o["task_to_id"] as JsonObject ?? new JsonObject()).ToDictionary(kv => kv.Key, kv => kv.Value!.GetValue<int>());
        static int[] Ids(JsonNode? n) => n is JsonArray a ? a.Select(x => x!.GetValue<int>()).ToArray() : [];
        return new WhisperGenerationConfig
        {
            DecoderStartTokenId = Req("decoder_start_token_id"),
            EosTokenId = Req("eos_token_id"),
            NoTimestampsTokenId = Req("no_timestamps_token_id"),
            PrevSotTokenId = o["prev_sot_token_id"] is JsonValue p && p.TryGetValue<int>(out var pi) ? pi : null,
            LangToId = langs,
            TaskToId = tasks,
            SuppressTokens = Ids(o["suppress_tokens"]),
            BeginSuppressTokens = Ids(o["begin_suppress_tokens"]),
            MaxInitialTimestampIndex = o["max_initial_timestamp_index"] is JsonValue m && m.TryGetValue<int>(out var mi) ? mi : 50,
            IsMultilingual = o["is_multilingual"] is not JsonValue ml || ml.GetValue<bool>(),
        };
    }

    /// <summary>The token of a language given as a code ("en"), a token ("&lt;|en|&gt;") or an English name ("english").</summary>
    public int LanguageTokenId(string language)
    {
        var key = language.Trim().ToLowerInvariant().Trim('<', '|', '>');
        if (WhisperLanguages.CodeFor(key) is string code) key = code;
        return LangToId.TryGetValue(key, out var id) ? id
            : throw new SamplingParamsException("language", $"unknown language '{language}' (this model knows: {string.Join(", ", LangToId.Keys.Order())})");
    }

    /// <summary>The language code of a language token id.</summary>
    public string? LanguageOf(int tokenId) => LangToId.FirstOrDefault(kv => kv.Value == tokenId).Key;

    /// <summary>
    /// The decoder prompt as vLLM and OpenAI's Whisper build it: the previous text (<c>&lt;|startofprev|&gt;</c> + prompt
    /// tokens) when given, then start of transcript, language, task, and <c>&lt;|notimestamps|&gt;</c> without timestamps.
    /// </summary>
    public int[] DecoderPrompt(int? languageTokenId, string task, bool timestamps, IReadOnlyList<int>? previousText = null)
    {
        var ids = new List<int>();
        if (previousText is { Count: > 0 })
        {
            if (PrevSotTokenId is not int prev) throw new SamplingParamsException("prompt", "this model has no <|startofprev|> token for a prompt");
            ids.Add(prev);
            ids.AddRange(previousText);
        }
        ids.Add(DecoderStartTokenId);
        if (languageTokenId is int lang) ids.Add(lang);
        if (TaskToId.Count > 0)
            ids.Add(TaskToId.TryGetValue(task, out var t) ? t
                : throw new SamplingParamsException("task", $"unknown task '{task}' (transcribe or translate)"));
        if (!timestamps) ids.Add(NoTimestampsTokenId);
        return ids.ToArray();
    }

    /// <summary>The logit rules for a request whose decoder prompt is built by <see cref="DecoderPrompt"/>.</summary>
    public WhisperDecodingParams DecodingParams(bool timestamps) =>
        new(SuppressTokens, BeginSuppressTokens, timestamps, TimestampBegin, NoTimestampsTokenId, EosTokenId, MaxInitialTimestampIndex);
}
