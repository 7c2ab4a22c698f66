using Pipeline.Models.Runner;

namespace Pipeline.Actors.Engine;

/// <summary>
/// What one step produced for one request (vLLM's EngineCoreOutput): the new tokens (a delta) and, when it
/// finished, why. Stop strings are matched downstream, by the detokenizer.
/// </summary>
public sealed record EngineCoreOutput(
    string RequestId,
    IReadOnlyList<int> NewTokenIds,
    IReadOnlyList<TokenLogprobs>? NewLogprobs = null,
    IReadOnlyList<TokenLogprobs>? NewPromptLogprobs = null,
    FinishReason? FinishReason = null,
    /// <summary>The stop_token_ids entry that ended the request (null for EOS, length, abort).</summary>
    int? StopReason = null,
    /// <summary>Prompt tokens served from the prefix cache.</summary>
    int NumCachedTokens = 0,
    /// <summary>A finished pooling request's result (null for generation, and for a pooling request that failed).</summary>
    float[][]? PoolingOutput = null)
{
    public bool Finished => FinishReason is not null;
}
