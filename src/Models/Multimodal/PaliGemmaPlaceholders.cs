using System.Text.Json.Nodes;
using Pipeline.Models.Forward;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// PaliGemma (PaliGemmaProcessor; no chat template): the prompt becomes the image tokens, bos, the text and "\n". A prompt
/// that already has one &lt;image&gt; per image gets bos after its last image token and "\n" at the end; one without
/// image tokens gets them in front. Each image token is repeated image_seq_length times ((image_size / patch_size)^2:
/// PaliGemma does not pool). The whole prompt is the prefix of a prefix-LM: every prompt token attends to every other
/// during prefill (transformers' token_type_ids == 0 block).
/// </summary>
public sealed class PaliGemmaPlaceholders(ImageProcessor images, int imageTokenId, int tokensPerImage, int bosTokenId, int newlineTokenId)
    : ImagePlaceholders(images, imageTokenId)
{
    public int TokensPerImage { get; } = tokensPerImage;

    public static PaliGemmaPlaceholders Create(JsonObject config, ImageProcessor images, int imageTokenId, Func<string, int?>? tokenIdOf)
    {
        static int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        var text = config["text_config"] as JsonObject;
        var vision = config["vision_config"] as JsonObject;
        int? fromVision = Int(vision?["image_size"]) is int s && Int(vision?["patch_size"]) is int p && p > 0 ? (s / p) * (s / p) : null;
        int n = Int(images.Config.Raw["image_seq_length"]) ?? Int(images.Config.Processor["image_seq_length"]) ?? Int(text?["num_image_tokens"])
            ?? fromVision ?? throw new MediaException("PaliGemma: neither the processor (image_seq_length) nor config.json (vision_config image_size, patch_size) gives the image token count");
        int bos = Int(text?["bos_token_id"]) ?? Int(config["bos_token_id"]) ?? tokenIdOf?.Invoke("<bos>")
            ?? throw new MediaException("PaliGemma: config.json has no bos_token_id");
        int newline = tokenIdOf?.Invoke("\n") ?? throw new MediaException("PaliGemma: the tokenizer has no '\\n' token");
        return new PaliGemmaPlaceholders(images, imageTokenId, n, bos, newline);
    }

    public override int NumImageTokens(ProcessedImage image) => TokensPerImage;

    public override (int[] Ids, PlaceholderRange[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedImage> images)
    {
        int found = promptIds.Count(id => id == ImageTokenId);
        if (found != images.Count && found != 0)
            throw new MediaException($"the prompt has {found} image placeholder token(s) (id {ImageTokenId}) but {images.Count} image(s) were given");
        List<int> layout;
        if (found == 0)
        {
            // As PaliGemmaProcessor does for text without image tokens: "<image>" per image, then bos (once), the text and "\n".
            var text = promptIds.Count > 0 && promptIds[0] == bosTokenId ? promptIds.Skip(1) : promptIds;
            layout = [.. Enumerable.Repeat(ImageTokenId, images.Count), bosTokenId, .. text, newlineTokenId];
        }
        else
        {
            int last = promptIds.Count - 1;
            while (promptIds[last] != ImageTokenId) last--;
            layout = [.. promptIds.Take(last + 1), bosTokenId, .. promptIds.Skip(last + 1), newlineTokenId];
        }
        var ids = new List<int>(layout.Count + images.Count * TokensPerImage);
        var ranges = new PlaceholderRange[images.Count];
        int k = 0;
        foreach (var id in layout)
        {
            if (id != ImageTokenId)
            {
                ids.Add(id);
                continue;
            }
            ranges[k++] = new PlaceholderRange(ids.Count, TokensPerImage);
            for (int i = 0; i < TokensPerImage; i++) ids.Add(id);
        }
        return (ids.ToArray(), ranges);
    }

    /// <summary>The whole prompt (images, bos, text, "\n") attends bidirectionally.</summary>
    public override IReadOnlyList<PositionRange> BidirectionalRanges(int promptLength, IReadOnlyList<PlaceholderRange> imageRanges) =>
        [new PositionRange(0, promptLength)];
}
