using System.Text.Json.Nodes;

namespace Pipeline.Models.Config;

/// <summary>Recursive JSON object merge used for --hf-overrides (objects merge, everything else replaces).</summary>
public static class JsonMerge
{
    public static void Into(JsonObject target, JsonObject overrides)
    {
        foreach (var (key, value) in overrides)
        {
            if (value is JsonObject o && target[key] is JsonObject t) Into(t, o);
            else target[key] = value?.DeepClone();
        }
    }

    public static JsonObject ParseOverrides(string? json)
    {
        if (string.IsNullOrWhiteSpace(json)) return new JsonObject();
        try
        {
            return JsonNode.Parse(json) as JsonObject ?? throw new ArgumentException("--hf-overrides must be a JSON object");
        }
        catch (System.Text.Json.JsonException e)
        {
            throw new ArgumentException($"--hf-overrides is not valid JSON: {e.Message}");
        }
    }
}
