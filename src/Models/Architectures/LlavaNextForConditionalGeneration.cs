using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using TorchSharp;
using static TorchSharp.torch;

namespace Pipeline.Models.Architectures;

/// <summary>
/// LLaVA-NeXT (LLaVA-1.6): LLaVA's CLIP tower, projector and language model, fed any-res tiles. Every tile (the whole
/// image squashed first, then the grid) goes through the shared tower and projector; the grid's features are laid out
/// as one feature map, the rows or columns that only cover padding are cut away, and a learned image_newline closes
/// each row (transformers' pack_image_features, vLLM's LlavaNextForConditionalGeneration).
/// </summary>
public class LlavaNextForConditionalGeneration : LlavaForConditionalGeneration
{
    readonly Tensor _imageNewline;
    readonly IReadOnlyList<int[]> _pinpoints;

    public LlavaNextForConditionalGeneration(ModelConfig config, IWeightSource weights, ScalarType dtype, Device device)
        : base(config, weights, dtype, device)
    {
        _pinpoints = config.Raw["image_grid_pinpoints"]?.AsArray().Select(p => p!.AsArray().Select(x => (int)x!.GetValue<double>()).ToArray()).ToList()
            ?? throw new ModelConfigException("config.json: 'image_grid_pinpoints' is required for LLaVA-NeXT");
        var name = weights.Contains("model.image_newline") ? "model.image_newline" : "image_newline";
        _imageNewline = weights.Load(name, [Encoder.Options.TextHidden], dtype, device);
    }

    public override Tensor EncodeImage(ProcessedImage image)
    {
        using var scope = NewDisposeScope();
        using var pixels = torch.tensor(image.PixelValues, image.Shape.Select(x => (long)x).ToArray()).to(Device);
        var tiles = Encoder.Encode(pixels); // [tiles, patches per tile, hidden]
        return Pack(tiles, image.Height, image.Width).MoveToOuterDisposeScope();
    }

    /// <summary>The base tile's rows, then the grid's unpadded feature map row by row, each row ended by image_newline.</summary>
    Tensor Pack(Tensor tiles, int imageHeight, int imageWidth)
    {
        long hidden = tiles.shape[2];
        var tileSize = Encoder.Options.Vision.ImageSize;
        int side = tileSize / Encoder.Options.Vision.PatchSize;
        var baseTile = tiles[0];
        if (tiles.shape[0] == 1) return torch.cat([baseTile, _imageNewline.unsqueeze(0).to_type(baseTile.dtype)], 0);
        var (bh, bw) = LlavaNextImageProcessor.SelectBestResolution(imageHeight, imageWidth, _pinpoints);
        int gridH = bh / tileSize, gridW = bw / tileSize;
        if (gridH * gridW != tiles.shape[0] - 1)
            throw new ArgumentException($"LLaVA-NeXT image of {imageWidth}x{imageHeight} has {tiles.shape[0] - 1} grid tiles, its pinpoint {bw}x{bh} needs {gridH * gridW}");
        var map = tiles.narrow(0, 1, gridH * gridW).view(gridH, gridW, side, side, hidden)
            .permute(4, 0, 2, 1, 3).reshape(hidden, gridH * side, gridW * side); // [hidden, H, W]
        map = Pool(Unpad(map, imageHeight, imageWidth), side);
        var newline = _imageNewline.to_type(map.dtype).view(hidden, 1, 1).expand(hidden, map.shape[1], 1);
        var rows = torch.cat([map, newline], 2).flatten(1, 2).transpose(0, 1); // [H * (W + 1), hidden]
        return torch.cat([baseTile, rows], 0);
    }

    /// <summary>What a family does to the unpadded feature map [hidden, H, W] before the newlines (LLaVA-NeXT: nothing).</summary>
    protected virtual Tensor Pool(Tensor map, int tileSide) => map;

    /// <summary>unpad_image: drops the rows (or columns) of the feature map that cover the padding around the resized image.</summary>
    static Tensor Unpad(Tensor map, int imageHeight, int imageWidth)
    {
        long h = map.shape[1], w = map.shape[2];
        double originalAspect = (double)imageWidth / imageHeight, currentAspect = (double)w / h;
        if (originalAspect > currentAspect)
        {
            long newH = (long)Math.Round(imageHeight * ((double)w / imageWidth), 7, MidpointRounding.ToEven);
            long pad = (h - newH) / 2;
            return map.narrow(1, pad, h - 2 * pad);
        }
        long newW = (long)Math.Round(imageWidth * ((double)h / imageHeight), 7, MidpointRounding.ToEven);
        long padW = (w - newW) / 2;
        return map.narrow(2, padW, w - 2 * padW);
    }

    public override void Dispose()
    {
        base.Dispose();
        _imageNewline.Dispose();
    }
}
