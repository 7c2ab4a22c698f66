using System.Text.Json;
using System.Text.Json.Nodes;

namespace Pipeline.Models.ChatTemplates;

/// <summary>What a chat template is rendered with (transformers' apply_chat_template arguments).</summary>
public sealed class ChatTemplateContext
{
    /// <summary>The conversation: objects with "role", "content" and optionally "tool_calls" etc.</summary>
    public IReadOnlyList<JsonNode?> Messages { get; init; } = [];

    /// <summary>Tool (function) schemas; null renders as Python None, as transformers passes it.</summary>
    public IReadOnlyList<JsonNode?>? Tools { get; init; }

    /// <summary>RAG documents; null renders as None.</summary>
    public IReadOnlyList<JsonNode?>? Documents { get; init; }

    public bool AddGenerationPrompt { get; init; }

    /// <summary>Leave the final (assistant) message open so the model continues it.</summary>
    public bool ContinueFinalMessage { get; init; }

    /// <summary>Passed as bos_token when not null.</summary>
    public string? BosToken { get; init; }

    /// <summary>Passed as eos_token when not null.</summary>
    public string? EosToken { get; init; }

    /// <summary>Extra template variables (e.g. enable_thinking, other special tokens). Values may be JSON
    /// nodes/elements, strings, numbers, bools, null, dictionaries and lists.</summary>
    public IReadOnlyDictionary<string, object?> Extra { get; init; } = new Dictionary<string, object?>();

    /// <summary>The items of a JSON array (e.g. a request's "messages" or "tools") as nodes for this context.</summary>
    /// <exception cref="ArgumentException"><paramref name="array"/> is not a JSON array.</exception>
    public static IReadOnlyList<JsonNode?> Nodes(JsonElement array)
    {
        if (array.ValueKind != JsonValueKind.Array) throw new ArgumentException($"expected a JSON array, got {array.ValueKind}", nameof(array));
        return array.EnumerateArray().Select(e => JsonNode.Parse(e.GetRawText())).ToList();
    }
}
