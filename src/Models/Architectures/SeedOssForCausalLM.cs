using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Seed-OSS: Llama with separate bias switches: attention_bias on q/k/v, attention_out_bias on o_proj, mlp_bias on
/// the MLP (its residual/attention dropouts are training-only).
/// </summary>
public sealed class SeedOssForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device)
{
    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.BoolField("attention_out_bias") ?? false),
        LlamaMlp(prefix, w, Config.HiddenAct, Config.MlpBias));
}
