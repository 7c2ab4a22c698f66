using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Models.Pooling;

/// <summary>
/// A model's pooler settings (vLLM's PoolerConfig): defaults for its task, from sentence-transformers files,
/// then --override-pooler-config. Null fields are unset and fall through to the next layer.
/// </summary>
public sealed record PoolerConfig
{
    public PoolingType? PoolingType { get; init; }
    /// <summary>L2-normalize embeddings.</summary>
    public bool? Normalize { get; init; }
    /// <summary>Softmax over class logits (vLLM's older name for the classify activation).</summary>
    public bool? Softmax { get; init; }
    /// <summary>Apply the task activation: softmax over labels, or sigmoid for a single-label (score) head.</summary>
    public bool? Activation { get; init; }
    /// <summary>Matryoshka truncation of embeddings to the first N dimensions.</summary>
    public int? Dimensions { get; init; }
    public int? StepTagId { get; init; }
    public int[]? ReturnedTokenIds { get; init; }

    static readonly string[] Fields = ["pooling_type", "normalize", "softmax", "activation", "dimensions", "step_tag_id", "returned_token_ids"];

    /// <summary>Fields set in <paramref name="o"/> replace ours.</summary>
    public PoolerConfig OverrideWith(PoolerConfig? o) => o == null ? this : new PoolerConfig
    {
        PoolingType = o.PoolingType ?? PoolingType,
        Normalize = o.Normalize ?? Normalize,
        Softmax = o.Softmax ?? Softmax,
        Activation = o.Activation ?? Activation,
        Dimensions = o.Dimensions ?? Dimensions,
        StepTagId = o.StepTagId ?? StepTagId,
        ReturnedTokenIds = o.ReturnedTokenIds ?? ReturnedTokenIds,
    };

    /// <summary>Parses --override-pooler-config: a JSON object such as {"pooling_type": "MEAN", "normalize": false}.</summary>
    public static PoolerConfig Parse(string json, string source = "--override-pooler-config")
    {
        JsonObject obj;
        try
        {
            obj = JsonNode.Parse(json) as JsonObject ?? throw new PoolingException($"{source} must be a JSON object, got: {json}");
        }
        catch (JsonException e)
        {
            throw new PoolingException($"{source} is not valid JSON: {e.Message}");
        }
        foreach (var (key, _) in obj)
            if (!Fields.Contains(key))
                throw new PoolingException($"{source}: unknown field '{key}' (expected one of {string.Join(", ", Fields)})");
        return new PoolerConfig
        {
            PoolingType = obj["pooling_type"] is { } pt ? ParsePoolingType(pt, source) : null,
            Normalize = Bool(obj, "normalize", source),
            Softmax = Bool(obj, "softmax", source),
            Activation = Bool(obj, "activation", source),
            Dimensions = Int(obj, "dimensions", source) is int d
                ? d > 0 ? d : throw new PoolingException($"{source}: 'dimensions' must be a positive integer, got {d}")
                : null,
            StepTagId = Int(obj, "step_tag_id", source),
            ReturnedTokenIds = obj["returned_token_ids"] switch
            {
                null => null,
                JsonArray a => a.Select((x, i) => x is JsonValue v && v.TryGetValue<int>(out var id) ? id
                    : throw new PoolingException($"{source}: 'returned_token_ids'[{i}] must be an integer, got {x?.ToJsonString() ?? "null"}")).ToArray(),
                var other => throw new PoolingException($"{source}: 'returned_token_ids' must be an array of integers, got {other.ToJsonString()}"),
            },
        };
    }

    public static PoolingType ParsePoolingType(JsonNode node, string source)
    {
        if (node is JsonValue v && v.TryGetValue<string>(out var s) && Enum.TryParse<PoolingType>(s, ignoreCase: true, out var t) && Enum.IsDefined(t) && !int.TryParse(s, out _))
            return t;
        throw new PoolingException($"{source}: 'pooling_type' must be one of {string.Join(", ", Enum.GetNames<PoolingType>())}, got {node.ToJsonString()}");
    }

    static bool? Bool(JsonObject o, string key, string source) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<bool>(out var b) => b,
        var other => throw new PoolingException($"{source}: '{key}' must be true or false, got {other.ToJsonString()}"),
    };

    static int? Int(JsonObject o, string key, string source) => o[key] switch
    {
        null => null,
        JsonValue v when v.TryGetValue<int>(out var i) => i,
        var other => throw new PoolingException($"{source}: '{key}' must be an integer, got {other.ToJsonString()}"),
    };
}
