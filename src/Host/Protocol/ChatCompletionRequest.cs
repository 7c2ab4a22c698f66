using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.Json.Serialization;
using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>The body of POST /v1/chat/completions (and of a queue message that carries messages).</summary>
public sealed record ChatCompletionRequest : GenerationRequest
{
    public ChatMessage[]? Messages { get; init; }
    public bool? Logprobs { get; init; }
    public int? TopLogprobs { get; init; }
    public int? MaxCompletionTokens { get; init; }
    public JsonArray? Tools { get; init; }
    public JsonArray? Documents { get; init; }
    public Dictionary<string, JsonElement>? ChatTemplateKwargs { get; init; }
    public bool? ContinueFinalMessage { get; init; }
    public bool? AddGenerationPrompt { get; init; }
    /// <summary>OpenAI's tool_choice: "none" | "auto" | "required" | {"type": "function", "function": {"name"}} (see <see cref="ToolParsers.ToolChoice"/>).</summary>
    public JsonElement? ToolChoice { get; init; }
    public bool? ParallelToolCalls { get; init; }

    [JsonIgnore]
    public bool WantsLogprobs => Logprobs ?? false;

    [JsonIgnore]
    public override int? RequestedMaxTokens => MaxCompletionTokens ?? MaxTokens;

    public override int DefaultMaxTokens(int maxModelLen, int promptTokens) => Math.Max(1, maxModelLen - promptTokens);

    public override void Validate()
    {
        ChatMessages.Check(Messages);
        ToolParsers.ToolChoice.From(ToolChoice, ToolParsers.ToolSet.From(Tools));
        if (TopLogprobs is < 0 or > 20) throw ApiError.BadRequest($"top_logprobs must be between 0 and 20, got {TopLogprobs}", "top_logprobs");
        if (TopLogprobs != null && !WantsLogprobs) throw ApiError.BadRequest("top_logprobs requires logprobs to be true", "top_logprobs");
        base.Validate();
    }

    /// <summary>The messages checked and shaped for the chat template.</summary>
    public IReadOnlyList<JsonNode?> TemplateMessages() => ChatMessages.ForTemplate(Messages);
}
