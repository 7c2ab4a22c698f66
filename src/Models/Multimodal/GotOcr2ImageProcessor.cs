namespace Pipeline.Models.Multimodal;

/// <summary>
/// GOT-OCR2's image processor (Aya Vision uses it): with crop_to_patches, the image is resized to the tile grid whose
/// aspect ratio is closest to its own (between min_patches and max_patches tiles), cut into size x size tiles row by row,
/// and, when there is more than one tile, a thumbnail (the whole image resized to size) comes last; without it, one
/// resized image. Tiles are then rescaled and normalized. pixel_values is tiles x 3 x size x size.
/// </summary>
public sealed class GotOcr2ImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    /// <summary>
    /// crop_to_patches as the processor call passes it: AyaVisionProcessor's defaults turn it on whatever the image
    /// processor's own config says (its _defaults are handed to the image processor as call arguments).
    /// </summary>
    public bool CropToPatches => Config.Processor["processor_class"]?.GetValue<string>() == "AyaVisionProcessor"
        || Config.Raw["crop_to_patches"]?.GetValue<bool>() == true;

    public int MinPatches => Config.Raw["min_patches"] is { } n ? (int)n.GetValue<double>() : 1;
    public int MaxPatches => Config.Raw["max_patches"] is { } n ? (int)n.GetValue<double>() : 12;

    (int Height, int Width) TileSize => Config.Size is { Height: int h, Width: int w } ? (h, w)
        : throw new ArgumentException("GOT-OCR2 image processor needs size with height and width");

    /// <summary>get_all_supported_aspect_ratios: (columns, rows) with min..max tiles, by tile count (stable).</summary>
    static List<(int Columns, int Rows)> AspectRatios(int minTiles, int maxTiles)
    {
        var all = new List<(int, int)>();
        for (int w = 1; w <= maxTiles; w++)
            for (int h = 1; h <= maxTiles; h++)
                if (w * h <= maxTiles && w * h >= minTiles) all.Add((w, h));
        return all.OrderBy(r => r.Item1 * r.Item2).ToList(); // OrderBy is stable, as Python's sorted
    }

    /// <summary>
    /// get_optimal_tiled_canvas: the grid whose columns/rows is closest to the image's width/height; on a tie the later
    /// (larger) grid wins while the image's area is more than half the grid's.
    /// </summary>
    public static (int Columns, int Rows) OptimalTiledCanvas(int height, int width, int tileHeight, int tileWidth, int minTiles, int maxTiles)
    {
        double aspect = (double)width / height, area = (double)width * height;
        double bestDiff = double.PositiveInfinity;
        var best = (1, 1);
        foreach (var (c, r) in AspectRatios(minTiles, maxTiles))
        {
            double diff = Math.Abs(aspect - (double)c / r);
            if (diff < bestDiff) { bestDiff = diff; best = (c, r); }
            else if (diff == bestDiff && area > 0.5 * tileHeight * tileWidth * c * r) best = (c, r);
        }
        return best;
    }

    /// <summary>get_number_of_image_patches: the tiles plus the thumbnail, or 1.</summary>
    public int NumPatches(int height, int width)
    {
        if (!CropToPatches || MaxPatches <= 1) return 1;
        var (th, tw) = TileSize;
        var (c, r) = OptimalTiledCanvas(height, width, th, tw, MinPatches, MaxPatches);
        return c * r > 1 ? c * r + 1 : 1;
    }

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        var tiles = new List<RgbImage>();
        if (CropToPatches && MaxPatches > 1)
        {
            var (th, tw) = TileSize;
            var (cols, rows) = OptimalTiledCanvas(image.Height, image.Width, th, tw, MinPatches, MaxPatches);
            var resized = PilResize.Resize(image, tw * cols, th * rows, c.Resample);
            for (int i = 0; i < cols * rows; i++)
                tiles.Add(resized.Crop(i / cols * th, i % cols * tw, th, tw));
            if (tiles.Count != 1) tiles.Add(PilResize.Resize(image, tw, th, c.Resample));
        }
        else tiles.Add(c.DoResize && c.Size != null ? Resize(image, c.Size) : image);

        int h = tiles[0].Height, w = tiles[0].Width;
        var pixels = new float[tiles.Count * 3 * h * w];
        for (int i = 0; i < tiles.Count; i++) ImageTransforms.ToChw(tiles[i], c).CopyTo(pixels, i * 3 * h * w);
        return new ProcessedImage(pixels, [tiles.Count, 3, h, w], image.Height, image.Width);
    }
}
