using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Granite: Llama with four multipliers from config: embedding_multiplier on the input embeddings,
/// attention_multiplier as the attention scale, residual_multiplier on each branch before its residual add, and the
/// logits divided by logits_scaling. GraniteMoE derives from it with experts in place of the MLP.
/// </summary>
public class GraniteForCausalLM : DecoderForCausalLM
{
    readonly double _embeddingMultiplier, _logitsScaling;

    public GraniteForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device) : base(config, weights, dtype, device)
    {
        _embeddingMultiplier = config.DoubleField("embedding_multiplier") ?? 1.0;
        _logitsScaling = config.DoubleField("logits_scaling") ?? 1.0;
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias,
            scale: Config.DoubleField("attention_multiplier") ?? 1.0),
        FeedForward(prefix, w),
        residualMultiplier: Config.DoubleField("residual_multiplier") ?? 1.0);

    /// <summary>The MLP of each block.</summary>
    protected virtual IFeedForward FeedForward(string prefix, ModelWeights w) => LlamaMlp(prefix, w, Config.HiddenAct, Config.MlpBias);

    protected override Tensor ScaleEmbeddings(Tensor embeddings) =>
        _embeddingMultiplier == 1.0 ? embeddings : embeddings.mul(Scalars.Of(_embeddingMultiplier));

    public override Tensor ComputeLogits(Tensor hidden)
    {
        var logits = base.ComputeLogits(hidden);
        if (_logitsScaling != 1.0) logits.div_(Scalars.Of(_logitsScaling));
        return logits;
    }
}
