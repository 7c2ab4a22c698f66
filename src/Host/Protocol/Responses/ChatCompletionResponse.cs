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
    public required string Content { get; init; }
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
