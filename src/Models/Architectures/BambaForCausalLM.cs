using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Bamba: Mamba 2 layers with attention (rotary, possibly partial) at attn_layer_indices; every layer has a gated
/// SiLU MLP. Each layer: x + mixer(input_layernorm(x)), then x + mlp(pre_ff_layernorm(x)).
/// </summary>
public sealed class BambaForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : DecoderForCausalLM(config, weights, dtype, device, FinalLayernormNames)
{
    static readonly WeightNames FinalLayernormNames = WeightNames.Llama with { FinalNorm = "model.final_layernorm.weight" };

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w)
    {
        var attn = Config.IntListField("attn_layer_indices");
        long h = Config.HiddenSize;
        var inputNorm = Norm(w, prefix + "input_layernorm.weight", h);
        var mlp = LlamaMlp(prefix, w, Config.HiddenAct, Config.MlpBias, module: "feed_forward.");
        var preFfNorm = Norm(w, prefix + "pre_ff_layernorm.weight", h);
        bool isAttention = attn.Contains(index);
        int rank = Enumerable.Range(0, index).Count(i => attn.Contains(i) == isAttention);
        if (isAttention)
            return new DecoderLayer(inputNorm, LlamaAttention(rank, prefix, w, Config.AttentionBias, Config.AttentionBias, sliding: false), preFfNorm, mlp);
        var m = Mamba2Options.FromHybrid(Config);
        return new MambaDecoderLayer(inputNorm, m.Load(w, prefix + "mamba.", rank, h, normGroupSize: m.Dims.Inner / m.Dims.NumGroups), preFfNorm, mlp);
    }
}
