using Pipeline.Models.Cache;
using Pipeline.Models.Layers;
using static TorchSharp.torch;

namespace Pipeline.Models.Forward;

/// <summary>
/// How attention runs over the paged KV cache (vLLM V1's attention backends): a backend declares the cache
/// tensors' shape, builds its per-step metadata once from the step's batch, and runs each layer's attention.
/// The eager TorchSharp backend serves CPU and is the reference; native kernels plug in beside it.
/// </summary>
public interface IAttentionBackend
{
    string Name { get; }
    /// <summary>Whether the backend applies rotary itself, in the kernel that writes the KV cache.</summary>
    bool FusesRotary { get; }
    /// <summary>Whether <see cref="StepBatch"/> must carry the padded block table, sequence lengths and query offsets.</summary>
    bool NeedsBlockTable { get; }
    /// <summary>Whether this backend can run <paramref name="layer"/> (soft-capping, for one, is not everywhere).</summary>
    bool Supports(Attention layer);
    /// <summary>Shape of one layer's K (and V) cache tensor.</summary>
    long[] KVCacheShape(int numBlocks, FullAttentionSpec spec);
    /// <summary>Everything every layer needs for this step, built once.</summary>
    AttentionMetadata BuildMetadata(StepBatch batch, KVCacheConfig kvConfig);
    /// <summary>
    /// Writes the new K/V into the layer's cache and attends. q [T, H, D], k/v [T, Hkv, D]; returns [T, H * D]. When
    /// <paramref name="rope"/> is fused (<see cref="FusesRotary"/>), q and k arrive unrotated and the backend rotates them.
    /// </summary>
    Tensor Forward(Attention layer, Tensor q, Tensor k, Tensor v, RotaryCosSin rope, Tensor kCache, Tensor vCache, AttentionMetadata meta);
}

/// <summary>A backend's per-step data, shared by all layers of one forward.</summary>
public abstract class AttentionMetadata(StepBatch batch) : IDisposable
{
    public StepBatch Batch { get; } = batch;
    public virtual void Dispose() { }
}
