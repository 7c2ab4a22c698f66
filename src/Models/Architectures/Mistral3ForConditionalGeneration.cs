using System.Text.Json.Nodes;
using Pipeline.Models.Cache;
using Pipeline.Models.Config;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Mistral3 (Mistral-Small-3.1/3.2): the Pixtral vision encoder (<see cref="PixtralHFVisionModel"/>), the Mistral3
/// projector (<see cref="Mistral3MultiModalProjector"/>: RMSNorm, a learned 2x2 patch merger, linear-GELU-linear) and a
/// Mistral decoder. Each image's merged tokens take the [IMG] positions of its placeholder in row-major order; the
/// [IMG_BREAK] / [IMG_END] tokens between the rows keep their token embeddings. Both checkpoint layouts load
/// (model.language_model.* + model.vision_tower.*, as transformers 5 saves it, or language_model.model.* + vision_tower.*).
/// </summary>
public sealed class Mistral3ForConditionalGeneration : ICausalLM, IMultiModalModel, ISkipsWeights
{
    readonly ICausalLM _text;
    readonly PixtralHFVisionModel _tower;
    readonly Mistral3MultiModalProjector _projector;

    public Mistral3ForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    {
        var textType = config.StringField("model_type");
        if (textType is not ("llama" or "mistral"))
            throw new ModelConfigException($"Mistral3 with a '{textType}' language model is not supported yet (mistral, llama)");
        var raw = config.Raw;
        var vision = raw["vision_config"] as JsonObject;
        if (!PixtralVisionOptions.IsPixtral(vision))
            throw new ModelConfigException("config.json: Mistral3 needs a Pixtral vision_config (model_type \"pixtral\")");
        var options = PixtralVisionOptions.From(vision!);
        int featureLayer = raw["vision_feature_layer"] switch
        {
            null => -1,
            JsonValue v => (int)v.GetValue<double>(),
            var other => throw new ModelConfigException($"config.json: vision_feature_layer {other.ToJsonString()} (several layers) is not supported yet"),
        };
        int merge = raw["spatial_merge_size"] is JsonValue m && m.TryGetValue<double>(out var ms) ? (int)ms : 2;
        bool bias = raw["multimodal_projector_bias"] is JsonValue b && b.GetValue<bool>();
        string act = raw["projector_hidden_act"]?.GetValue<string>() ?? "gelu";
        string tower = weights.Contains("model.vision_tower.patch_conv.weight") ? "model.vision_tower." : "vision_tower.";
        string projector = weights.Contains("model.multi_modal_projector.linear_1.weight") ? "model.multi_modal_projector." : "multi_modal_projector.";
        int used = PixtralHFVisionModel.LayersFor(featureLayer, options.NumLayers);
        IWeightSource textWeights = weights.Contains("model.language_model.embed_tokens.weight")
            ? new RenamedWeightSource(weights, n => n.StartsWith("model.", StringComparison.Ordinal) ? "model.language_model." + n[6..] : n)
            : weights.Contains("language_model.model.embed_tokens.weight") ? new RenamedWeightSource(weights, n => "language_model." + n) : weights;
        _text = new LlamaForCausalLM(config, textWeights, dtype, device);
        try
        {
            _tower = new PixtralHFVisionModel(options, weights, tower, used, dtype, device);
            _projector = new Mistral3MultiModalProjector(weights, projector, options.HiddenSize, config.HiddenSize, merge, bias, act,
                config.RmsNormEps, dtype, device);
        }
        catch { _text.Dispose(); _tower?.Dispose(); throw; }
        SkipPrefixes = [.. Enumerable.Range(used, options.NumLayers - used).Select(i => $"{tower}transformer.layers.{i}.")];
    }

    public IReadOnlyList<string> SkipPrefixes { get; }
    public ModelConfig Config => _text.Config;
    public ScalarType DType => _text.DType;
    public Device Device => _text.Device;
    public IReadOnlyList<Layers.Attention> AttentionLayers => _text.AttentionLayers;
    public Tensor EmbedInputIds(Tensor inputIds) => _text.EmbedInputIds(inputIds);
    public Tensor Forward(Tensor? inputIds, Tensor? inputsEmbeds, ForwardContext ctx) => _text.Forward(inputIds, inputsEmbeds, ctx);
    public Tensor ComputeLogits(Tensor hidden) => _text.ComputeLogits(hidden);
    public KVCacheConfig KVCacheConfig(int blockSize) => _text.KVCacheConfig(blockSize);

    /// <summary>The image's merged tokens [(rows / merge) * (cols / merge), hidden]: the rows for its [IMG] tokens.</summary>
    public Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        using var pixels = torch.tensor(image.PixelValues, image.Shape.Select(x => (long)x).ToArray());
        int p = _tower.Options.PatchSize;
        var features = _tower.ForwardImage(pixels);
        return _projector.Forward(features, image.Shape[^2] / p, image.Shape[^1] / p).MoveToOuterDisposeScope();
    }

    public void Dispose()
    {
        _text.Dispose();
        _tower.Dispose();
        _projector.Dispose();
    }
}
