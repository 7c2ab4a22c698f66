using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Models.Pooling;

/// <summary>
/// Pooler defaults a sentence-transformers model declares: modules.json lists its modules; the Pooling module's
/// config.json (usually 1_Pooling/config.json) picks the pooling mode; a Normalize module turns on normalization.
/// </summary>
public static class SentenceTransformersConfig
{
    const string PoolingModule = "sentence_transformers.models.Pooling";
    const string NormalizeModule = "sentence_transformers.models.Normalize";

    /// <summary>The pooler config from <paramref name="modelDir"/>, or null when it is not a sentence-transformers model.</summary>
    public static PoolerConfig? Load(string modelDir)
    {
        var modulesPath = Path.Combine(modelDir, "modules.json");
        if (!File.Exists(modulesPath)) return null;
        var modules = ReadJson(modulesPath) as JsonArray
                      ?? throw new PoolingException($"{modulesPath} must be a JSON array of modules");
        string? poolingPath = null;
        bool normalize = false;
        for (int i = 0; i < modules.Count; i++)
        {
            var m = modules[i] as JsonObject ?? throw new PoolingException($"{modulesPath}: module {i} is not an object");
            var type = m["type"] is JsonValue tv && tv.TryGetValue<string>(out var t) ? t
                : throw new PoolingException($"{modulesPath}: module {i} has no string 'type'");
            if (type == NormalizeModule) normalize = true;
            else if (type == PoolingModule)
                poolingPath = m["path"] is JsonValue pv && pv.TryGetValue<string>(out var p) ? p
                    : throw new PoolingException($"{modulesPath}: Pooling module {i} has no string 'path'");
        }
        var config = new PoolerConfig { Normalize = normalize };
        if (poolingPath == null) return config;
        var poolingConfig = Path.Combine(modelDir, poolingPath, "config.json");
        if (!File.Exists(poolingConfig)) throw new PoolingException($"{modulesPath} names Pooling module '{poolingPath}' but {poolingConfig} does not exist");
        return config with { PoolingType = PoolingMode(ReadJson(poolingConfig) as JsonObject ?? throw new PoolingException($"{poolingConfig} must be a JSON object"), poolingConfig) };
    }

    static PoolingType PoolingMode(JsonObject o, string source)
    {
        if (o["pooling_mode"] is JsonValue mv && mv.TryGetValue<string>(out var mode))
            return mode switch
            {
                "cls" => PoolingType.CLS,
                "mean" => PoolingType.MEAN,
                "lasttoken" => PoolingType.LAST,
                _ => throw new PoolingException($"{source}: 'pooling_mode' '{mode}' is not supported (cls, mean, lasttoken)"),
            };
        var on = new List<string>();
        foreach (var key in new[] { "pooling_mode_cls_token", "pooling_mode_mean_tokens", "pooling_mode_lasttoken", "pooling_mode_max_tokens", "pooling_mode_mean_sqrt_len_tokens", "pooling_mode_weightedmean_tokens" })
            if (o[key] is JsonValue v && v.TryGetValue<bool>(out var b) && b) on.Add(key);
        return on switch
        {
            ["pooling_mode_cls_token"] => PoolingType.CLS,
            ["pooling_mode_mean_tokens"] => PoolingType.MEAN,
            ["pooling_mode_lasttoken"] => PoolingType.LAST,
            [] => throw new PoolingException($"{source}: no pooling mode is enabled (set one of pooling_mode_cls_token, pooling_mode_mean_tokens, pooling_mode_lasttoken)"),
            [var one] => throw new PoolingException($"{source}: '{one}' is not supported (cls, mean, lasttoken are)"),
            _ => throw new PoolingException($"{source}: several pooling modes are enabled ({string.Join(", ", on)}); exactly one is supported"),
        };
    }

    static JsonNode? ReadJson(string path)
    {
        try { return JsonNode.Parse(File.ReadAllText(path)); }
        catch (JsonException e) { throw new PoolingException($"{path} is not valid JSON: {e.Message}"); }
    }
}
