using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// Aya Vision: a SigLIP tower (features from vision_feature_layer), Aya's pixel-shuffle SwiGLU projector
/// (<see cref="AyaVisionProjector"/>) and a Cohere2 decoder. Each GOT-OCR2 tile (the grid, then the thumbnail) gives
/// (image_size / patch_size / downsample_factor)² rows, which go to the tile's &lt;|IMG_PATCH|&gt; tokens; the tile and
/// start/end tokens around them keep their embeddings (<see cref="AyaVisionPlaceholders"/>). The logits are scaled by
/// the decoder's logit_scale as vLLM's Cohere2 does (transformers' AyaVision head leaves them unscaled).
/// </summary>
public sealed class AyaVisionForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : LlavaForConditionalGeneration(config, weights, dtype, device, (w, prefix) => Projector(config, w, prefix, dtype, device))
{
    static AyaVisionProjector Projector(ModelConfig config, IWeightSource w, string prefix, ScalarType dtype, Device device)
    {
        var raw = config.Raw;
        int Int(System.Text.Json.Nodes.JsonNode? n, int d) => n is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var x) ? (int)x : d;
        var vision = raw["vision_config"] as System.Text.Json.Nodes.JsonObject
            ?? throw new ModelConfigException("config.json: 'vision_config' is required for Aya Vision");
        int textHidden = config.HiddenSize;
        return AyaVisionProjector.Load(w, prefix, Int(vision["hidden_size"], 768), textHidden,
            Int(raw["alignment_intermediate_size"], textHidden), Int(raw["downsample_factor"], 2),
            raw["adapter_layer_norm_eps"] is System.Text.Json.Nodes.JsonValue e && e.TryGetValue<double>(out var eps) ? eps : 1e-6, dtype, device);
    }

    /// <summary>pixel_values [tiles, 3, S, S] to the tiles' rows in order, [tiles x rows per tile, hidden].</summary>
    public override Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        using var pixels = torch.tensor(image.PixelValues, image.Shape.Select(x => (long)x).ToArray()).to(Device);
        return Encoder.Encode(pixels).flatten(0, 1).MoveToOuterDisposeScope();
    }
}
