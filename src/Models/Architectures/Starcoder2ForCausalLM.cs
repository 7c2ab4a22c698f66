using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// StarCoder2: pre-norm blocks with LayerNorm (weight and bias, norm_epsilon), biases on every projection (use_bias),
/// an ungated MLP c_fc → GELU-tanh → c_proj, and sliding-window attention when config.sliding_window is set.
/// </summary>
public sealed class Starcoder2ForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    double Eps => Config.DoubleField("norm_epsilon") ?? 1e-5;

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var c = Config;
        bool bias = c.BoolField("use_bias") ?? true;
        var mlp = new Mlp(
            w.Linear(prefix + "mlp.c_fc", c.IntermediateSize, c.HiddenSize, bias),
            w.Linear(prefix + "mlp.c_proj", c.HiddenSize, c.IntermediateSize, bias),
            Activations.Get(c.HiddenAct));
        return new DecoderLayer(LayerNormAt(w, prefix + "input_layernorm", c.HiddenSize, Eps),
            LlamaAttention(index, prefix, w, qkvBias: bias, oBias: bias),
            LayerNormAt(w, prefix + "post_attention_layernorm", c.HiddenSize, Eps), mlp);
    }

    protected override INorm FinalNorm(ModelWeights w, string name, long size) =>
        LayerNormAt(w, name[..^".weight".Length], size, Eps);
}
