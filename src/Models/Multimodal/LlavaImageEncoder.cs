using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>LLaVA's vision settings in config.json, read once (<see cref="VisionModelType"/>: clip_vision_model, siglip_vision_model or pixtral).</summary>
public sealed record LlavaVisionOptions(ClipVisionOptions Vision, int FeatureLayer, string SelectStrategy, string ProjectorAct, int TextHidden,
    string VisionModelType = "clip_vision_model", PixtralVisionOptions? Pixtral = null)
{
    public static LlavaVisionOptions From(JsonObject config)
    {
        var vision = config["vision_config"] as JsonObject ?? throw new ModelConfigException("config.json: 'vision_config' is required for LLaVA");
        var text = config["text_config"] as JsonObject ?? config;
        // LlavaOnevisionConfig and AyaVisionConfig default to the last layer, all rows; LlavaConfig to -2 without the CLS.
        bool siglipFamily = config["model_type"]?.GetValue<string>() is "llava_onevision" or "aya_vision";
        int layer = config["vision_feature_layer"] switch
        {
            null => siglipFamily ? -1 : -2,
            JsonValue v => (int)v.GetValue<double>(),
            var other => throw new ModelConfigException($"config.json: vision_feature_layer {other.ToJsonString()} (several layers) is not supported yet"),
        };
        var strategy = config["vision_feature_select_strategy"]?.GetValue<string>() ?? (siglipFamily ? "full" : "default");
        if (strategy is not ("default" or "full")) throw new ModelConfigException($"config.json: vision_feature_select_strategy '{strategy}' must be default or full");
        var visionType = vision["model_type"]?.GetValue<string>() ?? "clip_vision_model";
        return new LlavaVisionOptions(ClipVisionOptions.From(vision), layer, strategy,
            config["projector_hidden_act"]?.GetValue<string>() ?? "gelu", (int)(text["hidden_size"]?.GetValue<double>() ?? throw new ModelConfigException("config.json: text_config.hidden_size is required")),
            visionType, visionType == "pixtral" ? PixtralVisionOptions.From(vision) : null);
    }
}

/// <summary>
/// Images to the rows that replace their placeholder tokens (LLaVA-1.5): the vision tower's hidden states at
/// vision_feature_layer (CLIP, SigLIP for LLaVA-OneVision and Aya Vision, Pixtral for Pixtral-12B), the first row dropped for the "default"
/// strategy, through the projector (LLaVA's MLP unless the family gives its own).
/// </summary>
public sealed class LlavaImageEncoder : IDisposable
{
    readonly IVisionTower _tower;
    readonly IVisionProjector _projector;
    public LlavaVisionOptions Options { get; }

    public LlavaImageEncoder(LlavaVisionOptions o, IWeightSource w, string towerPrefix, string projectorPrefix, ScalarType dtype, Device device,
        Func<IWeightSource, string, IVisionProjector>? projector = null)
    {
        Options = o;
        _tower = CreateTower(o, w, towerPrefix, dtype, device);
        try
        {
            _projector = projector?.Invoke(w, projectorPrefix)
                ?? LlavaProjector.Load(w, projectorPrefix, o.Vision.HiddenSize, o.TextHidden, o.ProjectorAct, dtype, device);
        }
        catch { _tower.Dispose(); throw; }
    }

    /// <summary>The tower of vision_config.model_type, built only up to the feature layer.</summary>
    static IVisionTower CreateTower(LlavaVisionOptions o, IWeightSource w, string prefix, ScalarType dtype, Device device)
    {
        int layers = ClipVisionTower.LayersFor(o.FeatureLayer, o.Vision.NumLayers);
        return o.VisionModelType switch
        {
            "clip_vision_model" => new ClipVisionTower(o.Vision, w, prefix, layers, dtype, device),
            "siglip_vision_model" => new SiglipVisionTower(new SiglipVisionOptions(o.Vision.HiddenSize, o.Vision.IntermediateSize,
                o.Vision.NumLayers, o.Vision.NumHeads, o.Vision.ImageSize, o.Vision.PatchSize, o.Vision.NumChannels, o.Vision.LayerNormEps,
                o.Vision.HiddenAct), w, prefix, dtype, device, layers),
            // Pixtral-12B: each image at its own size (one image a call); its rows take the [IMG] tokens of the placeholder.
            "pixtral" => new PixtralHFVisionModel(o.Pixtral!, w, prefix, PixtralHFVisionModel.LayersFor(o.FeatureLayer, o.Pixtral!.NumLayers), dtype, device),
            _ => throw new ModelConfigException($"vision tower '{o.VisionModelType}' is not supported here (clip_vision_model, siglip_vision_model, pixtral)"),
        };
    }

    /// <summary>pixel_values [N, 3, S, S] to [N, tokens per image, text hidden].</summary>
    public Tensor Encode(Tensor pixelValues)
    {
        using var scope = NewDisposeScope();
        var hidden = _tower.Forward(pixelValues);
        if (Options.SelectStrategy == "default") hidden = hidden.narrow(1, 1, hidden.shape[1] - 1);
        return _projector.Forward(hidden).MoveToOuterDisposeScope();
    }

    public void Dispose() { _tower.Dispose(); _projector.Dispose(); }
}
