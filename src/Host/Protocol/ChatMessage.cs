using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>One chat message. Fields besides role and content (name, tool_calls, tool_call_id, ...) go to the chat template as they are.</summary>
public sealed record ChatMessage
{
    public string? Role { get; init; }
    public MessageContent? Content { get; init; }
    [JsonExtensionData]
    public Dictionary<string, JsonElement>? Extra { get; set; }

    /// <summary>The message as the chat template reads it: content as one string.</summary>
    public JsonObject ToTemplateNode()
    {
        var node = new JsonObject { ["role"] = Role };
        if (Content != null) node["content"] = Content.TemplateContent();
        foreach (var (k, v) in Extra ?? []) node[k] = JsonNode.Parse(v.GetRawText());
        ArgumentsAsObjects(node["tool_calls"]);
        // Templates read the thinking of earlier turns as reasoning_content (Qwen3); newer clients send it as reasoning.
        if (node["reasoning_content"] == null && node["reasoning"] is { } r) node["reasoning_content"] = r.DeepClone();
        return node;
    }

    /// <summary>
    /// Tool call arguments arrive as JSON text (OpenAI's format) but templates write them with tojson (Llama 3.1,
    /// Mistral): like vLLM, an arguments string holding a JSON object reaches the template as that object.
    /// </summary>
    static void ArgumentsAsObjects(JsonNode? toolCalls)
    {
        if (toolCalls is not JsonArray calls) return;
        foreach (var call in calls)
        {
            if (call?["function"] is not JsonObject fn || fn["arguments"] is not JsonValue v || !v.TryGetValue<string>(out var text)) continue;
            try { if (JsonNode.Parse(text) is JsonObject args) fn["arguments"] = args; }
            catch (JsonException) { }
        }
    }
}
