using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// BLIP-2's prompt layout (Blip2Processor; vLLM's BLIP-2 prompt insertion): num_query_tokens image tokens before the
/// tokenized prompt (with its BOS), one image per prompt. The prompt itself holds no image token.
/// </summary>
public sealed class Blip2Placeholders(ImageProcessor images, int imageTokenId, int numQueryTokens) : ImagePlaceholders(images, imageTokenId)
{
    public static Blip2Placeholders Create(JsonObject modelConfig, JsonObject processor, ImageProcessor images, int imageTokenId)
    {
        static int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        int queries = Int(modelConfig["num_query_tokens"]) ?? Int(processor["num_query_tokens"]) ?? 32;
        return new Blip2Placeholders(images, imageTokenId, queries);
    }

    public override int NumImageTokens(ProcessedImage image) => numQueryTokens;

    public override (int[] Ids, PlaceholderRange[] Ranges) Expand(IReadOnlyList<int> promptIds, IReadOnlyList<ProcessedImage> images)
    {
        if (images.Count != 1) throw new MediaException($"BLIP-2 takes one image per prompt, {images.Count} were given");
        if (promptIds.Contains(ImageTokenId))
            throw new MediaException($"the prompt holds BLIP-2's image token (id {ImageTokenId}): BLIP-2 puts the image's tokens before the prompt itself, so write none");
        return ([.. Enumerable.Repeat(ImageTokenId, numQueryTokens), .. promptIds], [new PlaceholderRange(0, numQueryTokens)]);
    }
}
