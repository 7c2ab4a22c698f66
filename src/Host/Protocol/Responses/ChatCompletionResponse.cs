using System.Text.Json.Serialization;

namespace Pipeline.Host.Protocol;

/// <summary>The answer of /v1/chat/completions (object chat.completion).</summary>
public sealed record ChatCompletionResponse : ApiResponse
{
    protected override string ObjectName => "chat.completion";
    public required IReadOnlyList<ChatChoice> Choices { get; init; }
    public required UsageInfo Usage { get; init; }
}

public sealed record ChatChoice
{
    public required int Index { get; init; }
    public required ChatResponseMessage Message { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ChatLogprobs? Logprobs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
    public required StopReason StopReason { get; init; }
}

public sealed record ChatResponseMessage
{
    public string Role => "assistant";
    /// <summary>Null when the answer is only tool calls (or only thinking).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public required string? Content { get; init; }
    /// <summary>The thinking, under both names vLLM has used: reasoning_content (DeepSeek's, vLLM before 0.11) and reasoning (vLLM since).</summary>
    public string? ReasoningContent { get; init; }
    public string? Reasoning => ReasoningContent;
    public IReadOnlyList<ToolCall> ToolCalls { get; init; } = [];
}

/// <summary>A tool call in a response: {"id", "type": "function", "function": {"name", "arguments"}}.</summary>
public sealed record ToolCall(string Id, FunctionCall Function)
{
    public string Type => "function";
}

public sealed record FunctionCall(string Name, string Arguments);

/// <summary>
/// A streamed tool call piece (vLLM's DeltaToolCall): the first for a call carries index, id, type and the name;
/// the next ones carry index and an arguments fragment.
/// </summary>
public sealed record DeltaToolCall
{
    public required int Index { get; init; }
    public string? Id { get; init; }
    public string? Type { get; init; }
    public required DeltaFunctionCall Function { get; init; }
}

public sealed record DeltaFunctionCall
{
    public string? Name { get; init; }
    public string? Arguments { get; init; }
}

/// <summary>A stream chunk of /v1/chat/completions (object chat.completion.chunk).</summary>
public sealed record ChatCompletionChunk : ApiResponse
{
    protected override string ObjectName => "chat.completion.chunk";
    public required IReadOnlyList<ChatChunkChoice> Choices { get; init; }
    public UsageInfo? Usage { get; init; }
}

public sealed record ChatChunkChoice
{
    public required int Index { get; init; }
    public required ChatDelta Delta { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public ChatLogprobs? Logprobs { get; init; }
    [JsonIgnore(Condition = JsonIgnoreCondition.Never)]
    public string? FinishReason { get; init; }
    /// <summary>Left out of the first chunk (the one that carries the role).</summary>
    public StopReason? StopReason { get; init; }
}

public sealed record ChatDelta
{
    public string? Role { get; init; }
    public string? Content { get; init; }
    public string? ReasoningContent { get; init; }
    public string? Reasoning => ReasoningContent;
    public IReadOnlyList<DeltaToolCall>? ToolCalls { get; init; }
}

/// <summary>Chat logprobs: {"content": [{"token", "logprob", "bytes", "top_logprobs": [...]}]}.</summary>
public sealed record ChatLogprobs(IReadOnlyList<ChatTokenLogprob> Content);

public sealed record ChatTokenLogprob
{
    public required string Token { get; init; }
    public required float Logprob { get; init; }
    public required int[] Bytes { get; init; }
    /// <summary>The alternatives; left out on the alternatives themselves.</summary>
    public IReadOnlyList<ChatTokenLogprob>? TopLogprobs { get; init; }
}
