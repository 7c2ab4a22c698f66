using Pipeline.Models.Architectures;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using static TorchSharp.torch;

namespace Pipeline.Actors.Engine;

/// <summary>
/// A model's config without its weights, for a front-only cluster node: it tokenizes, detokenizes and routes, and
/// needs the vocabulary, the EOS ids and max_model_len, never a forward pass (the workers hold the weights).
/// </summary>
public sealed class ConfigOnlyModel(ModelConfig config, ScalarType dtype) : ICausalLM
{
    const string NoWeights = "this front-only cluster node holds no weights: its workers run the model";

    public ModelConfig Config { get; } = config;
    public ScalarType DType { get; } = dtype;
    public Device Device => CPU;
    public IReadOnlyList<Pipeline.Models.Layers.Attention> AttentionLayers => [];

    public Tensor EmbedInputIds(Tensor inputIds) => throw new InvalidOperationException(NoWeights);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => throw new InvalidOperationException(NoWeights);
    public Tensor ComputeLogits(Tensor hidden) => throw new InvalidOperationException(NoWeights);
    public KVCacheConfig KVCacheConfig(int blockSize) => throw new InvalidOperationException(NoWeights);
    public void Dispose() { }
}
