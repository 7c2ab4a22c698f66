namespace Pipeline.Models.Loading;

/// <summary>
/// A model whose checkpoints carry weights it deliberately leaves unread (vLLM's AutoWeightsLoader skip_prefixes):
/// DeepSeek-V3's multi-token-prediction layers, for one. The loader does not count them as unexpected.
/// </summary>
public interface ISkipsWeights
{
    IReadOnlyList<string> SkipPrefixes { get; }
}
