using System.Text.Json.Nodes;

namespace Pipeline.Models.Config;

/// <summary>The parts of a Hugging Face config.json the decoder families use, after --hf-overrides.</summary>
public sealed record ModelConfig
{
    public required JsonObject Raw { get; init; }
    public required string Architecture { get; init; }
    public string ModelType { get; init; } = "";
    public required int VocabSize { get; init; }
    public required int HiddenSize { get; init; }
    public required int IntermediateSize { get; init; }
    public required int NumHiddenLayers { get; init; }
    public required int NumAttentionHeads { get; init; }
    public required int NumKeyValueHeads { get; init; }
    public required int HeadDim { get; init; }
    public int MaxPositionEmbeddings { get; init; } = 2048;
    public double RmsNormEps { get; init; } = 1e-6;
    public string HiddenAct { get; init; } = "silu";
    public bool TieWordEmbeddings { get; init; }
    public bool AttentionBias { get; init; }
    public bool MlpBias { get; init; }
    public int? SlidingWindow { get; init; }
    /// <summary>Per layer: whether it uses the sliding window (null window means none do).</summary>
    public bool[] SlidingLayers { get; init; } = [];
    public required RopeConfig Rope { get; init; }
    /// <summary>Rotary parameters of the sliding-window layers when config.json gives them apart (transformers 5, by layer type).</summary>
    public RopeConfig? SlidingRope { get; init; }
    public string? TorchDtype { get; init; }
    public IReadOnlyList<int> EosTokenIds { get; init; } = [];
    public int? BosTokenId { get; init; }
    /// <summary>The model directory config.json was read from (null for configs built in memory).</summary>
    public string? ModelDir { get; init; }

    /// <summary>
    /// The longest sequence the model supports, as vLLM derives it: max_position_embeddings, stretched by the rope
    /// scaling factor for linear/dynamic scaling and by original length x factor for YaRN (llama3 already counts it).
    /// </summary>
    public int DerivedMaxModelLen => Rope.RopeType switch
    {
        "yarn" => (int)((Rope.OriginalMaxPositionEmbeddings ?? MaxPositionEmbeddings) * Rope.Factor),
        "linear" or "dynamic" => (int)(MaxPositionEmbeddings * Rope.Factor),
        _ => MaxPositionEmbeddings,
    };

    /// <summary>
    /// A config.json field this record does not name (a multimodal wrapper's text_config first); null when absent or
    /// JSON null. The typed readers below return null for those too.
    /// </summary>
    public JsonNode? Field(string key) => (Raw["text_config"] as JsonObject)?[key] ?? Raw[key];
    public double? DoubleField(string key) => Field(key) is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
    public int? IntField(string key) => DoubleField(key) is double d ? (int)d : null;
    public int RequiredIntField(string key) =>
        IntField(key) ?? throw new ModelConfigException($"config.json: '{key}' is required for {Architecture}");
    public bool? BoolField(string key) => Field(key) is JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
    public string? StringField(string key) => Field(key) is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
    public int[] IntListField(string key) => Field(key) is JsonArray a ? a.Where(x => x != null).Select(x => x!.GetValue<int>()).ToArray() : [];

    /// <summary>
    /// This config with the lm_head tied when config.json does not say: transformers' PretrainedConfig ties by default,
    /// and families whose config class keeps that default (GPT-2, OPT, BLOOM, MPT, GPTBigCode) save no field for it.
    /// </summary>
    public ModelConfig TiedUnlessSaid() => Field("tie_word_embeddings") is null ? this with { TieWordEmbeddings = true } : this;

    public static ModelConfig Load(string modelDir, string? hfOverrides = null)
    {
        var path = Path.Combine(modelDir, "config.json");
        if (!File.Exists(path)) throw new ModelConfigException($"No config.json in model directory '{modelDir}'");
        JsonObject raw;
        try
        {
            raw = JsonNode.Parse(File.ReadAllText(path)) as JsonObject
                  ?? throw new ModelConfigException($"{path} is not a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ModelConfigException($"{path} is not valid JSON: {e.Message}");
        }
        JsonMerge.Into(raw, JsonMerge.ParseOverrides(hfOverrides));
        return FromJson(raw, path) with { ModelDir = modelDir };
    }

    public static ModelConfig FromJson(JsonObject raw, string source = "config.json")
    {
        // Multimodal wrappers keep the language model's fields in text_config (PaliGemma also keeps a hidden_size outside).
        var c = raw["text_config"] as JsonObject is { } text && (raw["hidden_size"] == null || raw["num_hidden_layers"] == null) ? Merged(raw, text) : raw;
        var archs = raw["architectures"] as JsonArray;
        var arch = archs is { Count: > 0 } ? archs[0]!.GetValue<string>() : throw new ModelConfigException($"{source}: 'architectures' is missing or empty");
        c = WithCanonicalNames(DecoderView(c));
        int hidden = Int(c, "hidden_size", source);
        // Attention-free models (Mamba) have no heads; the architecture checks what it needs.
        int heads = OptInt(c, "num_attention_heads") ?? 0;
        // NemotronH gives its layers only as a list of block kinds (or their pattern string).
        int layers = OptInt(c, "num_hidden_layers") ?? (c["layers_block_type"] as JsonArray)?.Count
            ?? (c["hybrid_override_pattern"] as JsonValue)?.GetValue<string>().Length ?? Int(c, "num_hidden_layers", source);
        int kvHeads = OptInt(c, "num_key_value_heads") ?? heads;
        int headDim = OptInt(c, "head_dim") ?? (heads > 0 ? hidden / heads : 0);
        if (kvHeads > 0 && heads % kvHeads != 0) throw new ModelConfigException($"{source}: num_attention_heads ({heads}) must be a multiple of num_key_value_heads ({kvHeads})");
        int? window = OptInt(c, "sliding_window");
        // Qwen2 keeps a sliding_window value but only uses it with use_sliding_window.
        if (c["use_sliding_window"] is JsonValue usw && !usw.GetValue<bool>()) window = null;
        var sliding = new bool[layers];
        if (window != null)
        {
            if (c["layer_types"] is JsonArray types && types.Count == layers)
                for (int i = 0; i < layers; i++) sliding[i] = types[i]!.GetValue<string>() == "sliding_attention";
            else if (OptInt(c, "max_window_layers") is int mwl && c["use_sliding_window"] != null)
                for (int i = 0; i < layers; i++) sliding[i] = i >= mwl;
            else
                Array.Fill(sliding, true);
        }
        return new ModelConfig
        {
            Raw = raw,
            Architecture = arch,
            ModelType = c["model_type"]?.GetValue<string>() ?? raw["model_type"]?.GetValue<string>() ?? "",
            VocabSize = Int(c, "vocab_size", source),
            HiddenSize = hidden,
            IntermediateSize = OptInt(c, "intermediate_size") ?? 4 * hidden,
            NumHiddenLayers = layers,
            NumAttentionHeads = heads,
            NumKeyValueHeads = kvHeads,
            HeadDim = headDim,
            MaxPositionEmbeddings = OptInt(c, "max_position_embeddings") ?? 2048,
            RmsNormEps = OptDouble(c, "rms_norm_eps") ?? 1e-6,
            HiddenAct = c["hidden_act"]?.GetValue<string>() ?? "silu",
            TieWordEmbeddings = (c["tie_word_embeddings"] ?? raw["tie_word_embeddings"]) is JsonValue tie && tie.GetValue<bool>(),
            AttentionBias = c["attention_bias"] is JsonValue ab && ab.GetValue<bool>(),
            MlpBias = c["mlp_bias"] is JsonValue mb && mb.GetValue<bool>(),
            SlidingWindow = window,
            SlidingLayers = sliding,
            Rope = RopeConfig.Parse(c),
            SlidingRope = (c["rope_parameters"] as JsonObject)?["sliding_attention"] is JsonObject ? RopeConfig.Parse(c, "sliding_attention") : null,
            TorchDtype = (c["dtype"] ?? c["torch_dtype"] ?? raw["dtype"] ?? raw["torch_dtype"])?.GetValue<string>(),
            EosTokenIds = TokenIds(c["eos_token_id"] ?? raw["eos_token_id"]),
            BosTokenId = TokenIds(c["bos_token_id"] ?? raw["bos_token_id"]).Cast<int?>().FirstOrDefault(),
        };
    }

    /// <summary>
    /// The names older configs use for the common fields (transformers' attribute_map: GPT-2's n_embd, MPT's d_model,
    /// OPT's ffn_dim, Falcon's num_kv_heads, ...), mapped to the canonical ones when those are absent.
    /// </summary>
    static readonly (string Canonical, string[] Aliases)[] CanonicalNames =
    [
        ("hidden_size", ["n_embd", "d_model"]),
        ("num_hidden_layers", ["n_layer", "n_layers", "num_layers"]),
        ("num_attention_heads", ["n_head", "n_heads"]),
        ("num_key_value_heads", ["num_kv_heads"]),
        ("max_position_embeddings", ["n_positions", "max_seq_len", "seq_length"]),
        ("intermediate_size", ["n_inner", "ffn_dim", "ffn_hidden_size"]),
        ("rms_norm_eps", ["layer_norm_epsilon", "layer_norm_eps", "norm_epsilon", "norm_eps"]),
    ];

    /// <summary>
    /// An encoder-decoder config (Whisper's d_model, decoder_layers, ...): the engine runs the decoder, so its fields
    /// become the canonical ones (the encoder's stay in <see cref="Raw"/> for the model to read).
    /// </summary>
    static JsonObject DecoderView(JsonObject c)
    {
        if (c["decoder_layers"] is not JsonValue || c["encoder_layers"] is not JsonValue) return c;
        var m = (JsonObject)c.DeepClone();
        foreach (var (canonical, decoder) in new[] { ("hidden_size", "d_model"), ("num_hidden_layers", "decoder_layers"),
                     ("num_attention_heads", "decoder_attention_heads"), ("intermediate_size", "decoder_ffn_dim"),
                     ("max_position_embeddings", "max_target_positions"), ("hidden_act", "activation_function") })
            if (m[decoder] is JsonValue v) m[canonical] = v.DeepClone();
        m.Remove("num_key_value_heads");
        return m;
    }

    static JsonObject WithCanonicalNames(JsonObject c)
    {
        if (CanonicalNames.All(n => c[n.Canonical] != null || n.Aliases.All(a => c[a] == null))) return c;
        var m = (JsonObject)c.DeepClone();
        foreach (var (canonical, aliases) in CanonicalNames)
            if (m[canonical] == null && aliases.FirstOrDefault(a => m[a] is JsonValue) is { } alias)
                m[canonical] = m[alias]!.DeepClone();
        return m;
    }

    static JsonObject Merged(JsonObject outer, JsonObject text)
    {
        var m = (JsonObject)text.DeepClone();
        foreach (var key in new[] { "architectures", "tie_word_embeddings", "torch_dtype", "dtype" })
            if (m[key] == null && outer[key] != null) m[key] = outer[key]!.DeepClone();
        return m;
    }

    internal static IReadOnlyList<int> TokenIds(JsonNode? node) => node switch
    {
        JsonArray a => a.Where(x => x != null).Select(x => x!.GetValue<int>()).ToArray(),
        JsonValue v when v.TryGetValue<int>(out var i) => [i],
        _ => [],
    };

    static int Int(JsonObject o, string key, string source) =>
        OptInt(o, key) ?? throw new ModelConfigException($"{source}: required field '{key}' is missing");

    static int? OptInt(JsonObject o, string key)
    {
        if (o[key] is not JsonValue v) return null;
        if (v.TryGetValue<int>(out var i)) return i;
        if (v.TryGetValue<double>(out var d) && d == Math.Floor(d)) return (int)d;
        throw new ModelConfigException($"config field '{key}' must be an integer, got {v.ToJsonString()}");
    }

    static double? OptDouble(JsonObject o, string key) =>
        o[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
