using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// LLaVA-OneVision: LLaVA-NeXT's any-res packing over a SigLIP tower (no CLS row; features from vision_feature_layer,
/// "full" by default) and a Qwen2 decoder, with one step more: an unpadded feature map larger than about anyres_max_N
/// tiles is shrunk bilinearly (<see cref="AnyResMax"/>) before the newlines (transformers' pack_image_features, vLLM's
/// LlavaOnevisionForConditionalGeneration). Every image is any-res, also several in one prompt (as vLLM runs them).
/// </summary>
public sealed class LlavaOnevisionForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
    : LlavaNextForConditionalGeneration(config, weights, dtype, device)
{
    readonly int _maxTiles = AnyResMax.Parse(config.Raw["vision_aspect_ratio"]?.GetValue<string>() ?? "anyres_max_9");

    protected override Tensor Pool(Tensor map, int tileSide)
    {
        int h = (int)map.shape[1], w = (int)map.shape[2];
        var (ph, pw) = AnyResMax.PooledSize(h, w, tileSide, _maxTiles);
        if (ph == h && pw == w) return map;
        return nn.functional.interpolate(map.unsqueeze(0), [ph, pw], mode: InterpolationMode.Bilinear, align_corners: false).squeeze(0);
    }
}
