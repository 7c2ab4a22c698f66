using Pipeline.Models.Config;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Gemma: Llama's blocks with RMSNorm scaling by (1 + w), embeddings scaled by sqrt(hidden_size) (rounded to the
/// model dtype, as transformers does), and a GELU (tanh) gated MLP (config.hidden_activation).
/// </summary>
public class GemmaForCausalLM : DecoderForCausalLM
{
    readonly Tensor _normalizer;

    public GemmaForCausalLM(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device) : base(config, weights, dtype, device)
    {
        _normalizer = torch.tensor((float)Math.Sqrt(config.HiddenSize)).to(dtype, device);
    }

    protected override IDecoderLayer BuildLayer(int index, string prefix, ModelWeights w) => LlamaLayer(prefix, w,
        LlamaAttention(index, prefix, w, qkvBias: Config.AttentionBias, oBias: Config.AttentionBias),
        LlamaMlp(prefix, w, Activation));

    /// <summary>config.hidden_activation, else hidden_act.</summary>
    protected string Activation => Config.StringField("hidden_activation") ?? Config.HiddenAct;

    protected override RmsNorm Norm(ModelWeights w, string name, long size) => w.RmsNorm(name, size, Config.RmsNormEps, weightOffset: 1.0);

    protected override Tensor ScaleEmbeddings(Tensor embeddings) => embeddings * _normalizer;

    public override void Dispose()
    {
        base.Dispose();
        _normalizer.Dispose();
    }
}
