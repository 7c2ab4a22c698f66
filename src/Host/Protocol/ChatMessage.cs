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
        if (Content != null) node["content"] = Content.Joined;
        foreach (var (k, v) in Extra ?? []) node[k] = JsonNode.Parse(v.GetRawText());
        return node;
    }
}
