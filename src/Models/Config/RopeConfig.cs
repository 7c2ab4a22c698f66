using System.Text.Json.Nodes;

namespace Pipeline.Models.Config;

/// <summary>
/// Rotary embedding parameters, read from transformers 5.x `rope_parameters` or 4.x
/// `rope_theta` + `rope_scaling` (`type` or `rope_type`).
/// </summary>
public sealed record RopeConfig
{
    public string RopeType { get; init; } = "default";
    public double Theta { get; init; } = 10000.0;
    public double Factor { get; init; } = 1.0;
    /// <summary>Whether config.json gave `factor` (LongRoPE derives it from the two lengths when it does not).</summary>
    public bool HasFactor { get; init; }
    public double PartialRotaryFactor { get; init; } = 1.0;
    public int? OriginalMaxPositionEmbeddings { get; init; }
    public double LowFreqFactor { get; init; } = 1.0;
    public double HighFreqFactor { get; init; } = 4.0;
    public double? AttentionFactor { get; init; }
    public double BetaFast { get; init; } = 32;
    public double BetaSlow { get; init; } = 1;
    public double? MScale { get; init; }
    public double? MScaleAllDim { get; init; }
    public bool Truncate { get; init; } = true;
    /// <summary>LongRoPE (Phi-3): per-frequency divisors for sequences up to / beyond original_max_position_embeddings.</summary>
    public double[] ShortFactor { get; init; } = [];
    public double[] LongFactor { get; init; } = [];
    /// <summary>
    /// Multimodal rotary (Qwen2-VL's M-RoPE): how many of the rotary frequencies the temporal, height and width
    /// positions each drive; null for ordinary rotary.
    /// </summary>
    public int[]? MRopeSection { get; init; }

    public static readonly string[] Supported = ["default", "linear", "dynamic", "llama3", "yarn", "longrope"];

    /// <summary>
    /// The rotary parameters of config.json. transformers 5 keys them by layer type for models whose sliding and full
    /// layers rotate differently (Gemma 3: {"full_attention": {...}, "sliding_attention": {...}}); then
    /// <paramref name="layerType"/> picks one (full attention unless given).
    /// </summary>
    public static RopeConfig Parse(JsonObject config, string? layerType = null)
    {
        JsonObject? p = config["rope_parameters"] as JsonObject;
        if (p?["full_attention"] is JsonObject || p?["sliding_attention"] is JsonObject)
            p = p[layerType ?? "full_attention"] as JsonObject;
        var scaling = config["rope_scaling"] as JsonObject;
        double theta = Num(p, "rope_theta") ?? Num(config, "rope_theta") ?? 10000.0;
        var src = p ?? scaling;
        string type = (src?["rope_type"] ?? src?["type"])?.GetValue<string>() ?? "default";
        if (type == "su") type = "longrope"; // the name Phi-3's first checkpoints used
        if (type == "mrope") type = "default"; // transformers 4's name for Qwen2-VL's rotary, whose frequencies are the default ones
        if (!Supported.Contains(type))
            throw new ModelConfigException($"rope type '{type}' is not supported (supported: {string.Join(", ", Supported)})");
        var partial = Num(p, "partial_rotary_factor") ?? Num(config, "partial_rotary_factor") ?? 1.0;
        return new RopeConfig
        {
            RopeType = type,
            Theta = theta,
            Factor = Num(src, "factor") ?? 1.0,
            HasFactor = Num(src, "factor") != null,
            PartialRotaryFactor = partial,
            // LongRoPE checkpoints keep it beside max_position_embeddings (transformers reads it there too).
            OriginalMaxPositionEmbeddings = (int?)(Num(src, "original_max_position_embeddings")
                ?? (type == "longrope" ? Num(config, "original_max_position_embeddings") : null)),
            LowFreqFactor = Num(src, "low_freq_factor") ?? 1.0,
            HighFreqFactor = Num(src, "high_freq_factor") ?? 4.0,
            AttentionFactor = Num(src, "attention_factor"),
            BetaFast = Num(src, "beta_fast") ?? 32,
            BetaSlow = Num(src, "beta_slow") ?? 1,
            MScale = Num(src, "mscale"),
            MScaleAllDim = Num(src, "mscale_all_dim"),
            Truncate = src?["truncate"]?.GetValue<bool>() ?? true,
            ShortFactor = Nums(src, "short_factor"),
            LongFactor = Nums(src, "long_factor"),
            MRopeSection = src?["mrope_section"] is JsonArray sections ? sections.Select(x => (int)x!.GetValue<double>()).ToArray() : null,
        };
    }

    static double[] Nums(JsonObject? o, string key) =>
        o?[key] is JsonArray a ? a.Select(x => x!.GetValue<double>()).ToArray() : [];

    static double? Num(JsonObject? o, string key) =>
        o?[key] is JsonValue v && v.TryGetValue<double>(out var d) ? d : null;
}
