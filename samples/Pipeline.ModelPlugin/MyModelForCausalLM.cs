using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.ModelPlugin;

/// <summary>
/// A Llama-style decoder defined outside Pipeline's model code, as vLLM's out-of-tree example "MyModelForCausalLM":
/// pre-norm blocks of shared layers (RMSNorm, paged self-attention with rotary positions, gated SiLU MLP). The base
/// class brings the embeddings, final norm, rotary table, lm_head and the checkpoint's weight names.
/// </summary>
public sealed class MyModelForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        // Read here, not in a field: the base constructor builds the layers before this class's fields are set.
        var options = MyModelOptions.From(Config);
        var attention = LlamaAttention(index, prefix, w, qkvBias: options.AttentionBias, oBias: options.AttentionBias);
        var mlp = LlamaMlp(prefix, w, Config.HiddenAct, options.MlpBias);
        return new DecoderLayer(
            Norm(w, prefix + "input_layernorm.weight", Config.HiddenSize), attention,
            Norm(w, prefix + "post_attention_layernorm.weight", Config.HiddenSize), mlp);
    }
}

/// <summary>The config.json values this architecture reads beyond the common ones.</summary>
sealed record MyModelOptions(bool AttentionBias, bool MlpBias)
{
    public static MyModelOptions From(ModelConfig c) => new(c.BoolField("attention_bias") ?? false, c.BoolField("mlp_bias") ?? false);
}
