using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Where an image's tokens are in the expanded prompt: [Offset, Offset + Length), and which of those positions take the
/// image's encoder rows (<see cref="IsEmbed"/>, in order; null when all do). Positions that do not (Aya Vision's tile
/// and start/end tokens) keep their token embeddings (vLLM's PlaceholderRange.is_embed).
/// </summary>
public sealed record PlaceholderRange(int Offset, int Length, bool[]? IsEmbed = null)
{
    public int NumEmbeds => IsEmbed?.Count(x => x) ?? Length;
}

/// <summary>
/// How many prompt tokens an image takes for a model family, and which token id stands for it: the chat template (or
/// the user) writes the image token once per image, and <see cref="Expand"/> replaces it with the image's
/// <see cref="Replacement"/> (vLLM's prompt updates; transformers' processors do the same in their __call__).
/// </summary>
public abstract class ImagePlaceholders(ImageProcessor images, int imageTokenId)
{
    public ImageProcessor Images { get; } = images;
    /// <summary>The token the prompt has once per image.</summary>
    public int ImageTokenId { get; } = imageTokenId;
    /// <summary>The token whose positions take the image's encoder rows (the image token itself unless a family says otherwise).</summary>
    public virtual int EmbedTokenId => ImageTokenId;

    /// <summary>The number of encoder rows the image gives (the placeholder positions that take them).</summary>
    public abstract int NumImageTokens(ProcessedImage image);

    /// <summary>The tokens that replace the image token: by default <see cref="NumImageTokens"/> image tokens.</summary>
    public virtual int[] Replacement(ProcessedImage image) => Enumerable.Repeat(EmbedTokenId, NumImageTokens(image)).ToArray();

    /// <summary>
    /// Replaces the k-th image token of <paramref name="promptIds"/> with Replacement(images[k]). Returns the new ids
    /// and, per image, where its tokens are and which of them take its encoder rows.
    /// </summary>
    public virtual (int[] Ids, PlaceholderRange[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedImage> images)
    {
        int found = 0;
        foreach (var id in promptIds) if (id == ImageTokenId) found++;
        if (found != images.Count)
            throw new MediaException($"the prompt has {found} image placeholder token(s) (id {ImageTokenId}) but {images.Count} image(s) were given");
        var replacements = images.Select(Replacement).ToArray();
        var ids = new List<int>(promptIds.Count + replacements.Sum(r => r.Length));
        var ranges = new PlaceholderRange[images.Count];
        int k = 0;
        foreach (var id in promptIds)
        {
            if (id != ImageTokenId) { ids.Add(id); continue; }
            var r = replacements[k];
            var isEmbed = r.Select(t => t == EmbedTokenId).ToArray();
            ranges[k] = new PlaceholderRange(ids.Count, r.Length, isEmbed.All(x => x) ? null : isEmbed);
            ids.AddRange(r);
            k++;
        }
        return (ids.ToArray(), ranges);
    }

    /// <summary>
    /// The positions of an expanded prompt whose tokens attend to each other bidirectionally in prefill (vLLM's mm
    /// prefix-LM models), given where each image's tokens went; none for causal models.
    /// </summary>
    public virtual IReadOnlyList<Forward.PositionRange> BidirectionalRanges(int promptLength, IReadOnlyList<PlaceholderRange> imageRanges) => [];

    /// <summary>
    /// The placeholder rule for a model, from its config.json and processor config: LLaVA(-1.5), LLaVA-NeXT, Qwen2-VL,
    /// Qwen2.5-VL, and PixtralProcessor's (Pixtral-12B as LLaVA, Mistral3). <paramref name="tokenIdOf"/> looks a token up in the tokenizer (for configs that name the token
    /// but not its id).
    /// </summary>
    public static ImagePlaceholders Create(JsonObject modelConfig, ImageProcessorConfig processorConfig, Func<string, int?>? tokenIdOf = null,
        Func<string, int[]>? encode = null)
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
        int Token(string field, string fallback)
        {
            var token = p[field]?.GetValue<string>() ?? fallback;
            return tokenIdOf?.Invoke(token) ?? throw new MediaException($"the tokenizer has no '{token}' ({field})");
        }
        return modelType switch
        {
            // PixtralProcessor (Pixtral-12B as LLaVA, Mistral3): rows of [IMG] with [IMG_BREAK] / [IMG_END].
            _ when images is PixtralImageProcessor pixtral => new PixtralPlaceholders(pixtral, TokenId("[IMG]"),
                Token("image_break_token", "[IMG_BREAK]"), Token("image_end_token", "[IMG_END]")),
            "qwen2_vl" or "qwen2_5_vl" => new Qwen2VLPlaceholders(images, TokenId("<|image_pad|>")),
            "llava_next" => new LlavaNextPlaceholders((LlavaNextImageProcessor)images, TokenId("<image>"), patch, extra),
            // SigLIP has no CLS token: the base tile gives exactly its patches ("default" still drops one row).
            "llava_onevision" => new LlavaNextPlaceholders((LlavaNextImageProcessor)images, TokenId("<image>"), patch,
                (p["vision_feature_select_strategy"] ?? modelConfig["vision_feature_select_strategy"])?.GetValue<string>() == "default" ? -1 : 0,
                AnyResMax.Parse(modelConfig["vision_aspect_ratio"]?.GetValue<string>() ?? p["vision_aspect_ratio"]?.GetValue<string>() ?? "anyres_max_9")),
            "aya_vision" => AyaVisionPlaceholders.Create(modelConfig, (GotOcr2ImageProcessor)images, tokenIdOf, encode),
            "fuyu" => FuyuPlaceholders.Create(modelConfig, images, tokenIdOf),
            "blip-2" => Blip2Placeholders.Create(modelConfig, p, images, TokenId("<image>")),
            "idefics3" or "smolvlm" => Idefics3Placeholders.Create((Idefics3ImageProcessor)images, TokenId("<image>"), modelConfig,
                encode ?? throw new MediaException("Idefics3/SmolVLM placeholders need the tokenizer")),
            "gemma3" => Gemma3Placeholders.Create(modelConfig, images, tokenIdOf, encode),
            "paligemma" => PaliGemmaPlaceholders.Create(modelConfig, images, TokenId("<image>"), tokenIdOf),
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
/// newline token per remaining row (LlavaNextProcessor._get_number_of_features). LLaVA-OneVision
/// (<paramref name="anyResMax"/>): the unpadded grid is then pooled to at most about anyres_max tiles (<see cref="AnyResMax"/>).
/// </summary>
public sealed class LlavaNextPlaceholders(LlavaNextImageProcessor images, int imageTokenId, int patchSize, int extraTokens, int? anyResMax = null)
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
        if (anyResMax is int max) (curH, curW) = AnyResMax.PooledSize(curH, curW, ph, max);
        return curH * curW + curH + ph * pw + extraTokens;
    }
}

/// <summary>
/// Pixtral (PixtralProcessor.replace_image_token): one [IMG] per (merged) patch, each row of them followed by
/// [IMG_BREAK], the last row's break replaced by [IMG_END]. Only the [IMG] tokens take the encoder's rows.
/// </summary>
public sealed class PixtralPlaceholders(PixtralImageProcessor images, int imageTokenId, int breakTokenId, int endTokenId)
    : ImagePlaceholders(images, imageTokenId)
{
    public int BreakTokenId { get; } = breakTokenId;
    public int EndTokenId { get; } = endTokenId;

    (int Rows, int Cols) Grid(ProcessedImage image)
    {
        int patch = ((PixtralImageProcessor)Images).PatchSize;
        int rows = image.Shape[^2] / patch, cols = image.Shape[^1] / patch;
        if (rows == 0 || cols == 0) throw new MediaException($"the image ({image.Width}x{image.Height}) is smaller than one {patch}x{patch} patch once processed");
        return (rows, cols);
    }

    public override int NumImageTokens(ProcessedImage image)
    {
        var (rows, cols) = Grid(image);
        return rows * cols;
    }

    public override int[] Replacement(ProcessedImage image)
    {
        var (rows, cols) = Grid(image);
        var ids = new int[rows * (cols + 1)];
        for (int r = 0, i = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) ids[i++] = ImageTokenId;
            ids[i++] = BreakTokenId;
        }
        ids[^1] = EndTokenId;
        return ids;
    }
}
