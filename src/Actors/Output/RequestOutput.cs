using Pipeline.Models.Runner;

namespace Pipeline.Actors.Output;

/// <summary>One sequence of a request's output (vLLM's CompletionOutput).</summary>
public sealed record CompletionOutput(
    int Index,
    string Text,
    IReadOnlyList<int> TokenIds,
    IReadOnlyList<TokenLogprobs>? Logprobs,
    /// <summary>"stop", "length", "abort", "error", or null while running.</summary>
    string? FinishReason,
    /// <summary>The stop string or stop token id that ended it, if one did.</summary>
    object? StopReason)
{
    public bool Finished => FinishReason != null;
}

/// <summary>What a caller receives for a request (vLLM's RequestOutput): cumulative, a delta, or only the final one.</summary>
public sealed record RequestOutput(
    string RequestId,
    string? Prompt,
    IReadOnlyList<int> PromptTokenIds,
    IReadOnlyList<TokenLogprobs>? PromptLogprobs,
    IReadOnlyList<CompletionOutput> Outputs,
    bool Finished,
    int NumCachedTokens = 0);
