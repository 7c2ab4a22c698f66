namespace Pipeline.Models.Runner;

/// <summary>What one step produced, per scheduled request (parallel lists in scheduling order).</summary>
public sealed class ModelRunnerOutput
{
    public List<string> ReqIds { get; } = new();
    /// <summary>Sampled token ids per request; empty for a request whose prefill chunk did not reach the end of its prompt.</summary>
    public List<int[]> SampledTokenIds { get; } = new();
    /// <summary>Per request, per sampled token: logprob of the sampled token and the top-k (id, logprob) pairs; null when not requested.</summary>
    public List<TokenLogprobs[]?> Logprobs { get; } = new();
    /// <summary>Per request, prompt logprobs for the positions computed this step; null when not requested.</summary>
    public List<TokenLogprobs[]?> PromptLogprobs { get; } = new();
    /// <summary>Per pooling request, its pooled rows (one row, or one per token / step); null for generation requests.</summary>
    public List<float[][]?> PoolerOutput { get; } = new();
}

/// <summary>Logprob of one chosen token, its rank in the distribution (1 = most likely), and the top-k alternatives.</summary>
public sealed record TokenLogprobs(int TokenId, float Logprob, int Rank, (int TokenId, float Logprob)[] Top);
