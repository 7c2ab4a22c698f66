using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Aya Vision (AyaVisionProcessor.replace_image_token): the image token becomes
/// <c>&lt;|START_OF_IMG|&gt;</c>, then for each tile k of a multi-tile image <c>TILE_k</c> and the tile's patch tokens,
/// then <c>TILE_GLOBAL</c> and the thumbnail's patch tokens, then <c>&lt;|END_OF_IMG|&gt;</c>. Only the patch tokens
/// (<c>&lt;|IMG_PATCH|&gt;</c>, config.image_token_index) take encoder rows; a tile gives
/// (image_size / (patch_size * downsample_factor))^2 of them.
/// </summary>
public sealed class AyaVisionPlaceholders : ImagePlaceholders
{
    readonly int _patchId, _tokensPerTile;
    readonly int[] _start, _end, _global;
    readonly Func<string, int[]> _piece;

    AyaVisionPlaceholders(GotOcr2ImageProcessor images, int imageTokenId, int patchId, int tokensPerTile, Func<string, int[]> piece,
        JsonObject processor) : base(images, imageTokenId)
    {
        _patchId = patchId;
        _tokensPerTile = tokensPerTile;
        _piece = piece;
        string Token(string key, string dflt) => processor[key]?.GetValue<string>() ?? dflt;
        _start = piece(Token("start_of_img_token", "<|START_OF_IMG|>"));
        _end = piece(Token("end_of_img_token", "<|END_OF_IMG|>"));
        _global = piece(Token("tile_global_token", "TILE_GLOBAL"));
        TileToken = Token("tile_token", "TILE");
    }

    string TileToken { get; }

    public override int EmbedTokenId => _patchId;

    public override int NumImageTokens(ProcessedImage image) => image.Shape[0] * _tokensPerTile;

    public override int[] Replacement(ProcessedImage image)
    {
        int tiles = image.Shape[0];
        var ids = new List<int>(_start);
        for (int k = 1; k < tiles; k++)
        {
            ids.AddRange(_piece($"{TileToken}_{k}"));
            ids.AddRange(Enumerable.Repeat(_patchId, _tokensPerTile));
        }
        ids.AddRange(_global);
        ids.AddRange(Enumerable.Repeat(_patchId, _tokensPerTile));
        ids.AddRange(_end);
        return ids.ToArray();
    }

    /// <summary>
    /// From config.json (image_token_index, vision image_size / patch_size, downsample_factor) and the processor's token
    /// strings; the tile labels are tokenized with <paramref name="encode"/> (they are plain text in Cohere's
    /// vocabulary), or looked up as single tokens when only <paramref name="tokenIdOf"/> is given.
    /// </summary>
    public static AyaVisionPlaceholders Create(JsonObject modelConfig, GotOcr2ImageProcessor images, Func<string, int?>? tokenIdOf,
        Func<string, int[]>? encode)
    {
        static int? Int(JsonNode? n) => n is JsonValue v && v.TryGetValue<double>(out var d) ? (int)d : null;
        var p = images.Config.Processor;
        var vision = modelConfig["vision_config"] as JsonObject;
        int imageSize = Int(vision?["image_size"]) ?? 384, patch = Int(vision?["patch_size"]) ?? 14;
        int downsample = Int(modelConfig["downsample_factor"]) ?? 2;
        int side = imageSize / patch / downsample;
        int[] Piece(string text) => encode?.Invoke(text) is { Length: > 0 } ids ? ids
            : tokenIdOf?.Invoke(text) is int id ? [id]
            : throw new MediaException($"the tokenizer has no token for Aya Vision's '{text}'");
        string imageToken = p["image_token"]?.GetValue<string>() ?? "<image>";
        int imageId = tokenIdOf?.Invoke(imageToken) ?? throw new MediaException($"the tokenizer has no image token '{imageToken}'");
        string patchToken = p["img_patch_token"]?.GetValue<string>() ?? "<|IMG_PATCH|>";
        int patchId = Int(modelConfig["image_token_index"]) ?? Int(modelConfig["image_token_id"]) ?? tokenIdOf?.Invoke(patchToken)
            ?? throw new MediaException($"the model's config names no image token id and the tokenizer has no '{patchToken}'");
        return new AyaVisionPlaceholders(images, imageId, patchId, side * side, Piece, p);
    }
}
