namespace Pipeline.Models.Architectures;

/// <summary>
/// A model whose prompts have ranges of tokens that attend to each other bidirectionally in prefill (vLLM's
/// is_mm_prefix_lm: Gemma 3's image tokens, PaliGemma's whole prompt). The ranges come with each request
/// (<see cref="Forward.PositionRange"/>, from the model's placeholder rule); the scheduler never ends a prefill chunk
/// inside one, and the attention masks open them. The native CUDA kernels have no such mask, so these models attend
/// with the eager backend.
/// </summary>
public interface IMmPrefixLM;
