using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// How many prompt tokens an image takes for a model family, and which token id stands for it: the chat template (or
/// the user) writes the image token once per image, and <see cref="Expand"/> repeats it to the count the vision tower
/// produces (vLLM's prompt updates; transformers' processors do the same in their __call__).
/// </summary>
public abstract class ImagePlaceholders(ImageProcessor images, int imageTokenId)
{
    public ImageProcessor Images { get; } = images;
    public int ImageTokenId { get; } = imageTokenId;

    public abstract int NumImageTokens(ProcessedImage image);

    /// <summary>
    /// Repeats the k-th image token of <paramref name="promptIds"/> NumImageTokens(images[k]) times. Returns the new ids
    /// and, per image, where its tokens start and how many there are.
    /// </summary>
    public (int[] Ids, (int Offset, int Length)[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedImage> images)
    {
        int found = 0;
        foreach (var id in promptIds) if (id == ImageTokenId) found++;
        if (found != images.Count)
            throw new MediaException($"the prompt has {found} image placeholder token(s) (id {ImageTokenId}) but {images.Count} image(s) were given");
        var counts = images.Select(NumImageTokens).ToArray();
        var ids = new List<int>(promptIds.Count + counts.Sum());
        var ranges = new (int, int)[images.Count];
        int k = 0;
        foreach (var id in promptIds)
        {
            if (id != ImageTokenId) { ids.Add(id); continue; }
            ranges[k] = (ids.Count, counts[k]);
            for (int i = 0; i < counts[k]; i++) ids.Add(id);
            k++;
        }
        return (ids.ToArray(), ranges);
    }

    /// <summary>
    /// The placeholder rule for a model, from its config.json and processor config: LLaVA(-1.5), LLaVA-NeXT, Qwen2-VL
    /// and Qwen2.5-VL. <paramref name="tokenIdOf"/> looks a token up in the tokenizer (for configs that name the token
    /// but not its id).
    /// </summary>
    public static ImagePlaceholders Create(JsonObject modelConfig, ImageProcessorConfig processorConfig, Func<string, int?>? tokenIdOf = null)
    {
        var images = ImageProcessor.Create(processorConfig);
        var p = processorConfig.Processor;
        string modelType = modelConfig["model_type"]?.GetValue<string>() ?? "";
        static int? Int(JsonNode? n) => n is JsonValue v
            ? v.TryGetValue<int>(out var i) ? i : v.TryGetValue<long>(out var l) ? (int)l : v.TryGetValue<double>(out var d) ? (int)d : null
            : null;
        int TokenId(string fallbackToken)
        {
            var token = p["image_token"]?.GetValue<string>() ?? fallbackToken;
            return Int(modelConfig["image_token_index"]) ?? Int(modelConfig["image_token_id"]) ?? tokenIdOf?.Invoke(token)
                ?? throw new MediaException($"the model's config names no image token id and the tokenizer has no '{token}'");
        }
        var vision = modelConfig["vision_config"] as JsonObject;
        int patch = Int(p["patch_size"]) ?? Int(vision?["patch_size"]) ?? 14;
        var strategy = p["vision_feature_select_strategy"]?.GetValue<string>() ?? modelConfig["vision_feature_select_strategy"]?.GetValue<string>() ?? "default";
        // The CLS token the vision tower adds; "default" drops it again.
        int extra = (Int(p["num_additional_image_tokens"]) ?? 1) - (strategy == "default" ? 1 : 0);
        return modelType switch
        {
            "qwen2_vl" or "qwen2_5_vl" => new Qwen2VLPlaceholders(images, TokenId("<|image_pad|>")),
            "llava_next" => new LlavaNextPlaceholders((LlavaNextImageProcessor)images, TokenId("<image>"), patch, extra),
            _ => new LlavaPlaceholders(images, TokenId("<image>"), patch, extra),
        };
    }
}

/// <summary>LLaVA-1.5: one token per vision patch of the (cropped) image, plus the CLS when the strategy keeps it.</summary>
public sealed class LlavaPlaceholders(ImageProcessor images, int imageTokenId, int patchSize, int extraTokens)
    : ImagePlaceholders(images, imageTokenId)
{
    public override int NumImageTokens(ProcessedImage image) =>
        image.Shape[^2] / patchSize * (image.Shape[^1] / patchSize) + extraTokens;
}

/// <summary>Qwen2-VL / Qwen2.5-VL: one token per merge_size x merge_size block of patches.</summary>
public sealed class Qwen2VLPlaceholders(ImageProcessor images, int imageTokenId) : ImagePlaceholders(images, imageTokenId)
{
    public override int NumImageTokens(ProcessedImage image)
    {
        var g = image.GridThw ?? throw new ArgumentException("Qwen2-VL image without grid_thw");
        int m = Images.Config.MergeSize;
        return g[0] * g[1] * g[2] / (m * m);
    }
}

/// <summary>
/// LLaVA-NeXT: the base tile's patches, plus the any-res grid's features with the padding rows/columns removed and one
/// newline token per remaining row (LlavaNextProcessor._get_number_of_features).
/// </summary>
public sealed class LlavaNextPlaceholders(LlavaNextImageProcessor images, int imageTokenId, int patchSize, int extraTokens)
    : ImagePlaceholders(images, imageTokenId)
{
    public override int NumImageTokens(ProcessedImage image)
    {
        int tileH = image.Shape[^2], tileW = image.Shape[^1];
        var (bh, bw) = LlavaNextImageProcessor.SelectBestResolution(image.Height, image.Width, Images.Config.ImageGridPinpoints);
        int scaleH = bh / tileH, scaleW = bw / tileW;
        int ph = tileH / patchSize, pw = tileW / patchSize;
        int curH = ph * scaleH, curW = pw * scaleW;
        double originalAspect = (double)image.Width / image.Height, currentAspect = (double)curW / curH;
        if (originalAspect > currentAspect)
        {
            int newH = (int)Math.Round(image.Height * ((double)curW / image.Width), 7, MidpointRounding.ToEven);
            curH -= (int)Math.Floor((curH - newH) / 2.0) * 2;
        }
        else
        {
            int newW = (int)Math.Round(image.Width * ((double)curH / image.Height), 7, MidpointRounding.ToEven);
            curW -= (int)Math.Floor((curW - newW) / 2.0) * 2;
        }
        return curH * curW + curH + ph * pw + extraTokens;
    }
}
