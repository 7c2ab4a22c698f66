using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>Arcee (AFM): Llama with an ungated MLP, down(relu²(up(x))) (config.hidden_act, relu2 by default).</summary>
public sealed class ArceeForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.up_proj", c.IntermediateSize, c.HiddenSize, c.MlpBias),
            w.Linear(prefix + "mlp.down_proj", c.HiddenSize, c.IntermediateSize, c.MlpBias),
            Activations.Get(c.StringField("hidden_act") ?? "relu2"));
        return LlamaLayer(prefix, w, LlamaAttention(index, prefix, w, qkvBias: c.AttentionBias, oBias: c.AttentionBias), mlp);
    }
}
