using Pipeline.Host.Http;

namespace Pipeline.Host.Protocol;

/// <summary>The body of POST /v1/completions (and of a queue message that carries a prompt).</summary>
public sealed record CompletionRequest : GenerationRequest
{
    public TextsOrTokens? Prompt { get; init; }
    public bool? Echo { get; init; }
    /// <summary>Top log probabilities per token, 0-20 (an integer here, unlike chat's boolean).</summary>
    public int? Logprobs { get; init; }
    public int? BestOf { get; init; }
    public string? Suffix { get; init; }

    public override int DefaultMaxTokens(int maxModelLen, int promptTokens) => 16;

    public override void Validate()
    {
        if (Prompt == null) throw ApiError.BadRequest("prompt is required", "prompt");
        if (BestOf is int bo && bo != (N ?? 1)) throw ApiError.BadRequest("best_of is not supported", "best_of");
        if (Suffix != null) throw ApiError.BadRequest("suffix is not supported", "suffix");
        if (Logprobs is < 0 or > 20) throw ApiError.BadRequest($"logprobs must be between 0 and 20, got {Logprobs}", "logprobs");
        base.Validate();
    }
}
