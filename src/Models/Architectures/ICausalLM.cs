using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// A decoder over a flat batch: tokens of several sequences concatenated, each with its own position and KV-cache
/// state (see <see cref="ForwardContext"/>). It returns final hidden states; generation puts a logits head on top
/// (<see cref="ICausalLM"/>), pooling puts pooler heads on top.
/// </summary>
public interface IDecoderModel : IDisposable
{
    ModelConfig Config { get; }
    ScalarType DType { get; }
    Device Device { get; }
    /// <summary>Input embeddings [T, hidden] for token ids [T] (multimodal inputs replace rows of these).</summary>
    Tensor EmbedInputIds(Tensor inputIds);
    /// <summary>Final hidden states [T, hidden] (after the final norm) for token ids or input embeddings [T, hidden].</summary>
    Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx);
    /// <summary>The attention of each layer (backends check they support every one).</summary>
    IReadOnlyList<Layers.Attention> AttentionLayers { get; }
    /// <summary>What each layer keeps in the KV cache.</summary>
    KVCacheConfig KVCacheConfig(int blockSize);
}

/// <summary>A decoder with a language-modelling head.</summary>
public interface ICausalLM : IDecoderModel
{
    /// <summary>float32 logits [N, vocab] for final hidden rows [N, hidden].</summary>
    Tensor ComputeLogits(Tensor hidden);
}

/// <summary>Builds a causal LM from its config and weights (a registry entry's constructor).</summary>
public delegate ICausalLM DecoderFactory(ModelConfig config, Loading.IWeightSource weights, ScalarType dtype, Device device);
