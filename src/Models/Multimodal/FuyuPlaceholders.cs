using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Fuyu's prompt layout (FuyuProcessor; vLLM's Fuyu prompt update): the image comes first, as one |SPEAKER| token per
/// patch with |NEWLINE| closing each patch row, then BOS, the prompt and the beginning-of-answer token \x04 (the
/// vocabulary's &lt;0x04&gt;). The prompt itself holds no image token; one image per prompt, as in vLLM. The image's
/// span is all its rows, newlines included; only the |SPEAKER| positions take the patch rows (is_embed), the newlines
/// keep their token embedding.
/// </summary>
public sealed class FuyuPlaceholders(FuyuImageProcessor images, int imageTokenId, int newlineTokenId, int bosTokenId, int boaTokenId)
    : ImagePlaceholders(images, imageTokenId)
{
    public static FuyuPlaceholders Create(JsonObject modelConfig, ImageProcessor images, Func<string, int?>? tokenIdOf)
    {
        int? Config(string key) => (modelConfig[key] ?? (modelConfig["text_config"] as JsonObject)?[key]) is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        int Token(string token) => tokenIdOf?.Invoke(token) ?? throw new MediaException($"Fuyu: the tokenizer has no '{token}' token");
        return new FuyuPlaceholders(images as FuyuImageProcessor ?? throw new MediaException($"Fuyu needs FuyuImageProcessor, the processor config names {images.Config.ImageProcessorType}"),
            Config("image_token_id") ?? Token("|SPEAKER|"), Token("|NEWLINE|"), Config("bos_token_id") ?? Token("<s>"), Token("<0x04>"));
    }

    public override int NumImageTokens(ProcessedImage image) => image.Shape[0] * image.Shape[1];

    public override (int[] Ids, PlaceholderRange[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedImage> images)
    {
        if (images.Count != 1) throw new MediaException($"Fuyu takes one image per prompt, {images.Count} were given");
        if (promptIds.Contains(ImageTokenId))
            throw new MediaException($"the prompt holds Fuyu's image token (id {ImageTokenId}): Fuyu puts the image's tokens before the prompt itself, so write none");
        int rows = images[0].Shape[0], cols = images[0].Shape[1];
        var ids = new List<int>(rows * (cols + 1) + promptIds.Count + 2);
        for (int r = 0; r < rows; r++)
        {
            for (int c = 0; c < cols; c++) ids.Add(ImageTokenId);
            ids.Add(newlineTokenId);
        }
        ids.Add(bosTokenId);
        // A tokenizer that adds BOS itself: transformers' processor puts it after the image instead.
        ids.AddRange(promptIds.Count > 0 && promptIds[0] == bosTokenId ? promptIds.Skip(1) : promptIds);
        ids.Add(boaTokenId);
        int span = rows * (cols + 1);
        return (ids.ToArray(), [new PlaceholderRange(0, span, ids.Take(span).Select(t => t == ImageTokenId).ToArray())]);
    }
}
