using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// LLaVA-1.5: a CLIP vision tower and an MLP projector (<see cref="LlavaImageEncoder"/>) in front of a Llama-family
/// language model; the runner puts each image's projected features in place of its placeholder embeddings and runs the
/// decoder on those. The checkpoint layouts transformers has saved (model.language_model.* / language_model.model.*,
/// with or without model. and vision_model. around the tower) all load. With a Pixtral vision_config (Pixtral-12B as
/// transformers saves it, which vLLM also serves as PixtralForConditionalGeneration from Mistral's format) the tower is
/// <see cref="PixtralHFVisionModel"/>, each image at its own size.
/// </summary>
public class LlavaForConditionalGeneration : ICausalLM, IMultiModalModel, ISkipsWeights
{
    readonly ICausalLM _text;
    readonly LlavaImageEncoder _encoder;
    protected LlavaImageEncoder Encoder => _encoder;

    public LlavaForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
        : this(config, weights, dtype, device, null) { }

    /// <param name="projector">the family's projector from (weights, prefix); null for LLaVA's MLP</param>
    protected LlavaForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device,
        Func<IWeightSource, string, IVisionProjector>? projector)
    {
        var textType = config.StringField("model_type");
        if (textType is not ("llama" or "mistral" or "qwen2" or "cohere2"))
            throw new ModelConfigException($"LLaVA with a '{textType}' language model is not supported yet (llama, mistral, qwen2, cohere2)");
        var tower = TowerPrefix(weights);
        IWeightSource textWeights = weights.Contains("model.language_model.embed_tokens.weight")
            ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + n[6..] : n)
            : weights.Contains("language_model.model.embed_tokens.weight") ? new RenamedWeightSource(weights, n => "language_model." + n) : weights;
        var options = LlavaVisionOptions.From(config.Raw);
        _text = textType switch
        {
            "qwen2" => new Qwen2ForCausalLM(config, textWeights, dtype, device),
            "cohere2" => new Cohere2ForCausalLM(config, textWeights, dtype, device),
            _ => new LlamaForCausalLM(config, textWeights, dtype, device),
        };
        var projectorPrefix = weights.Contains("model.multi_modal_projector.linear_1.weight") ? "model.multi_modal_projector." : "multi_modal_projector.";
        try { _encoder = new LlavaImageEncoder(options, weights, tower, projectorPrefix, dtype, device, projector); }
        catch { _text.Dispose(); throw; }
        // The tower runs only up to the feature layer: later layers and post_layernorm (and SigLIP's pooling head) are
        // never read (as in vLLM).
        int used = ClipVisionTower.LayersFor(options.FeatureLayer, options.Vision.NumLayers);
        string layers = options.VisionModelType == "pixtral" ? "transformer.layers" : "encoder.layers";
        SkipPrefixes = [.. Enumerable.Range(used, options.Vision.NumLayers - used).Select(i => $"{tower}{layers}.{i}."), tower + "post_layernorm.", tower + "head."];
    }

    /// <summary>Where the vision tower's weights are: checkpoints name it with or without "model." and "vision_model.".</summary>
    public static string TowerPrefix(IWeightSource weights) =>
        new[] { "model.vision_tower.vision_model.", "vision_tower.vision_model.", "model.vision_tower.", "vision_tower." }
            .FirstOrDefault(p => weights.Contains(p + "embeddings.patch_embedding.weight") || weights.Contains(p + "patch_conv.weight"))
        ?? throw new WeightLoadException("LLaVA checkpoint has no vision tower (vision_tower.*.embeddings.patch_embedding.weight, or a Pixtral tower's vision_tower.patch_conv.weight)");

    public IReadOnlyList<string> SkipPrefixes { get; }
    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    public virtual Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        using var pixels = torch.tensor(image.PixelValues, [1, .. image.Shape.Select(x => (long)x)]).to(Device);
        return _encoder.Encode(pixels).squeeze(0).MoveToOuterDisposeScope();
    }

    public virtual void Dispose()
    {
        _text.Dispose();
        _encoder.Dispose();
    }
}
