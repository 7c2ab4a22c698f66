using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A decoder language model over a flat batch: tokens of several sequences concatenated, each with its own
/// position and KV-cache state (see <see cref="AttentionMetadata"/>).
/// </summary>
public interface ICausalLM : IDisposable
{
    ModelConfig Config { get; }
    ScalarType DType { get; }
    Device Device { get; }
    /// <summary>Final hidden states [T, hidden] for input ids [T].</summary>
    Tensor Forward(Tensor inputIds, AttentionMetadata meta, KVCache cache);
    /// <summary>float32 logits [N, vocab] for hidden rows [N, hidden].</summary>
    Tensor ComputeLogits(Tensor hidden);
    KVCache AllocateKVCache(int numBlocks, int blockSize);
    long KVCacheBytesPerBlock(int blockSize);
}
