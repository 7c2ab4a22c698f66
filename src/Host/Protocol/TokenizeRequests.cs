using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>The body of POST /tokenize: a prompt, or chat messages rendered by the chat template.</summary>
public sealed record TokenizeRequest : ProtocolRequest
{
    public string? Prompt { get; init; }
    public ChatMessage[]? Messages { get; init; }
    public bool? AddGenerationPrompt { get; init; }
    public bool? AddSpecialTokens { get; init; }

    public override void Validate()
    {
        if (Prompt == null && Messages == null) throw ApiError.BadRequest("prompt (or messages) is required", "prompt");
    }
}

/// <summary>The body of POST /detokenize.</summary>
public sealed record DetokenizeRequest : ProtocolRequest
{
    public int[]? Tokens { get; init; }

    public override void Validate()
    {
        if (Tokens == null) throw ApiError.BadRequest("tokens is required", "tokens");
    }
}
