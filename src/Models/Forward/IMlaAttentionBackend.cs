using Pipeline.Models.Layers;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// A backend that runs multi-head latent attention (DeepSeek-V2/V3) over a paged latent cache, as vLLM's MLA
/// backends do: per token the cache holds the normed latent and the rotated key part, one row of
/// kv_lora_rank + qk_rope_head_dim values.
/// </summary>
public interface IMlaAttentionBackend
{
    /// <summary>
    /// Writes the step's latent rows into <paramref name="latentCache"/> ([slots, 1, lora + rope]) and attends.
    /// q_nope [T, H, nope], q_pe [T, H, rope] and k_pe [T, rope] arrive rotated; kvCNormed is [T, lora].
    /// Returns [T, H * v_head_dim], before o_proj.
    /// </summary>
    Tensor ForwardMla(Attention layer, Tensor qNope, Tensor qPe, Tensor kvCNormed, Tensor kPe, MlaWeights weights, Tensor latentCache, AttentionMetadata meta);
}
