namespace Pipeline.Host.Protocol;

/// <summary>Token counts: generation gives all three; pooling has no completion tokens; rerank gives the total only.</summary>
public sealed record UsageInfo(int? PromptTokens, int? CompletionTokens, int TotalTokens)
{
    public static UsageInfo Generation(int prompt, int completion) => new(prompt, completion, prompt + completion);
    public static UsageInfo Pooling(int tokens) => new(tokens, null, tokens);
    public static UsageInfo TotalOnly(int tokens) => new(null, null, tokens);
}
