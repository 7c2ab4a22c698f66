using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// OLMo (v1): Llama's block with LayerNorms that have no weight and no bias (eps 1e-5, computed in float32), and q,
/// k and v clamped to [-clip_qkv, clip_qkv] after their projections when the config sets clip_qkv.
/// </summary>
public sealed class OlmoForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => new DecoderLayer(
        new NonParametricLayerNorm(Config.HiddenSize),
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias, clipQkv: Config.DoubleField("clip_qkv")),
        new NonParametricLayerNorm(Config.HiddenSize), LlamaMlp(prefix, w, Config.HiddenAct));

    protected override INorm FinalNorm(ModelWeights w, string name, long size) => new NonParametricLayerNorm(size);

    sealed class NonParametricLayerNorm(long size) : INorm
    {
        public Tensor Forward(Tensor x)
        {
            using var scope = NewDisposeScope();
            return nn.functional.layer_norm(x.to_type(ScalarType.Float32), [size], null, null, 1e-5).to_type(x.dtype).MoveToOuterDisposeScope();
        }

        public (Tensor Normed, Tensor Sum) AddAndNorm(Tensor x, Tensor residual)
        {
            var sum = residual + x;
            return (Forward(sum), sum);
        }

        public void Dispose() { }
    }
}
