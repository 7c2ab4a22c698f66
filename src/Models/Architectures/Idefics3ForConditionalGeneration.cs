using System.Text.Json.Nodes;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Layers;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Idefics3: a SigLIP vision transformer with NaViT-style positions (<see cref="Idefics3VisionTransformer"/>) over
/// every tile of an image (the tiles, then the global image), the connector (pixel shuffle by scale_factor, then a
/// linear projection) and a Llama decoder; the runner puts the tiles' rows in place of the image tokens between the
/// tile markers. Weights: model.text_model.* (the decoder), model.vision_model.*, model.connector.*, lm_head.
/// </summary>
public class Idefics3ForConditionalGeneration : ICausalLM, IMultiModalModel
{
    readonly ICausalLM _text;
    readonly Idefics3VisionTransformer _vision;
    readonly Idefics3Connector _connector;

    public Idefics3ForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var textType = config.StringField("model_type");
        if (textType is not "llama")
            throw new ModelConfigException($"{config.Architecture} with a '{textType}' language model is not supported (llama)");
        var vision = config.Raw["vision_config"] as JsonObject
            ?? throw new ModelConfigException("config.json: 'vision_config' is required for Idefics3/SmolVLM");
        string root = weights.Contains("model.text_model.embed_tokens.weight") ? "model." : "";
        if (!weights.Contains(root + "text_model.embed_tokens.weight"))
            throw new WeightLoadException("Idefics3 checkpoint has no language model (model.text_model.embed_tokens.weight)");
        IWeightSource textWeights = new RenamedWeightSource(weights,
            n => n.StartsWith("model.", StringComparison.Ordinal) ? root + "text_model." + n[6..] : n);
        var options = Idefics3VisionTransformer.OptionsFrom(vision);
        int scale = config.Raw["scale_factor"] is JsonValue s && s.TryGetValue<double>(out var sf) ? (int)sf : 2;
        _text = new LlamaForCausalLM(config, textWeights, dtype, device);
        try
        {
            _vision = new Idefics3VisionTransformer(options, weights, root + "vision_model.", dtype, device);
            long inF = (long)options.HiddenSize * scale * scale;
            _connector = new Idefics3Connector(new Linear(weights.Load(root + "connector.modality_projection.proj.weight", [config.HiddenSize, inF], dtype, device), null), scale);
        }
        catch { _text.Dispose(); _vision?.Dispose(); throw; }
    }

    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    /// <summary>The image's tiles [tiles, 3, M, M] to its rows [tiles x image_seq_len, text hidden], tile by tile.</summary>
    public Tensor EncodeImage(ProcessedImage image)
    {
        if (image.Shape.Length != 4) throw new ArgumentException("an Idefics3 image is tiles x 3 x H x W (use the model's Idefics3ImageProcessor)");
        using var scope = NewDisposeScope();
        using var pixels = torch.tensor(image.PixelValues, image.Shape.Select(x => (long)x).ToArray()).to(Device);
        var features = _connector.Forward(_vision.Forward(pixels));
        return features.reshape(-1, features.shape[^1]).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _text.Dispose();
        _vision.Dispose();
        _connector.Dispose();
    }
}

/// <summary>SmolVLM (SmolVLM2): Idefics3's model with its own processor defaults; the same weights and computation.</summary>
public sealed class SmolVLMForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : Idefics3ForConditionalGeneration(config, weights, dtype, device);
