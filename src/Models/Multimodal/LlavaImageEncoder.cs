using System.Text.Json.Nodes;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using static TorchSharp.torch;

namespace Pipeline.Models.Multimodal;

/// <summary>LLaVA's vision settings in config.json, read once.</summary>
public sealed record LlavaVisionOptions(ClipVisionOptions Vision, int FeatureLayer, string SelectStrategy, string ProjectorAct, int TextHidden)
{
    public static LlavaVisionOptions From(JsonObject config)
    {
        var vision = config["vision_config"] as JsonObject ?? throw new ModelConfigException("config.json: 'vision_config' is required for LLaVA");
        var text = config["text_config"] as JsonObject ?? config;
        int layer = config["vision_feature_layer"] switch
        {
            null => -2,
            JsonValue v => (int)v.GetValue<double>(),
            var other => throw new ModelConfigException($"config.json: vision_feature_layer {other.ToJsonString()} (several layers) is not supported yet"),
        };
        var strategy = config["vision_feature_select_strategy"]?.GetValue<string>() ?? "default";
        if (strategy is not ("default" or "full")) throw new ModelConfigException($"config.json: vision_feature_select_strategy '{strategy}' must be default or full");
        return new LlavaVisionOptions(ClipVisionOptions.From(vision), layer, strategy,
            config["projector_hidden_act"]?.GetValue<string>() ?? "gelu", (int)(text["hidden_size"]?.GetValue<double>() ?? throw new ModelConfigException("config.json: text_config.hidden_size is required")));
    }
}

/// <summary>
/// Images to the rows that replace their placeholder tokens (LLaVA-1.5): the CLIP tower's hidden states at
/// vision_feature_layer, the CLS row dropped for the "default" strategy, through the projector.
/// </summary>
public sealed class LlavaImageEncoder : IDisposable
{
    readonly ClipVisionTower _tower;
    readonly LlavaProjector _projector;
    public LlavaVisionOptions Options { get; }

    public LlavaImageEncoder(LlavaVisionOptions o, IWeightSource w, string towerPrefix, string projectorPrefix, ScalarType dtype, Device device)
    {
        Options = o;
        _tower = new ClipVisionTower(o.Vision, w, towerPrefix, ClipVisionTower.LayersFor(o.FeatureLayer, o.Vision.NumLayers), dtype, device);
        _projector = LlavaProjector.Load(w, projectorPrefix, o.Vision.HiddenSize, o.TextHidden, o.ProjectorAct, dtype, device);
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
