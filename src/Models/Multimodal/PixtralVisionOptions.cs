using System.Text.Json.Nodes;
using Pipeline.Models.Config;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// A Pixtral vision_config (transformers' PixtralVisionConfig), read once. The head size is hidden_size /
/// num_attention_heads (transformers 5 derives it so, whatever head_dim a config saves); rope_theta comes from
/// rope_parameters (transformers 5) or the top level (4), default 10000.
/// </summary>
public sealed record PixtralVisionOptions(int HiddenSize, int IntermediateSize, int NumLayers, int NumHeads, int NumChannels,
    int PatchSize, string HiddenAct, double RopeTheta)
{
    public int HeadDim => HiddenSize / NumHeads;

    public static bool IsPixtral(JsonObject? vision) => vision?["model_type"]?.GetValue<string>() == "pixtral";

    public static PixtralVisionOptions From(JsonObject vision)
    {
        int Int(string k, int d) => vision[k] is JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        double? Theta(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var t) ? t : null;
        var o = new PixtralVisionOptions(Int("hidden_size", 1024), Int("intermediate_size", 4096), Int("num_hidden_layers", 24),
            Int("num_attention_heads", 16), Int("num_channels", 3), Int("patch_size", 16), vision["hidden_act"]?.GetValue<string>() ?? "gelu",
            Theta((vision["rope_parameters"] as JsonObject)?["rope_theta"]) ?? Theta(vision["rope_theta"]) ?? 10000.0);
        if (o.HiddenSize % o.NumHeads != 0 || o.HeadDim % 4 != 0)
            throw new ModelConfigException($"vision_config: hidden_size {o.HiddenSize} over {o.NumHeads} heads must give a head size divisible by 4 (2-D rotary)");
        return o;
    }
}
