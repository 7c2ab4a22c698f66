using System.Text.Json.Nodes;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>The `messages` rules chat completions and /tokenize share: present, not empty, every role a string.</summary>
public static class ChatMessages
{
    public static IReadOnlyList<JsonNode?> ForTemplate(ChatMessage[]? messages)
    {
        Check(messages);
        return messages!.Select(m => (JsonNode?)m.ToTemplateNode()).ToList();
    }

    public static void Check(ChatMessage[]? messages)
    {
        if (messages == null) throw ApiError.BadRequest("messages is required and must be a list", "messages");
        if (messages.Length == 0) throw ApiError.BadRequest("messages must not be empty", "messages");
        for (int i = 0; i < messages.Length; i++)
            if (messages[i]?.Role == null) throw ApiError.BadRequest($"messages[{i}].role must be a string", "messages");
    }
}
