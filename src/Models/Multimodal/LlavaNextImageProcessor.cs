namespace Pipeline.Models.Multimodal;

/// <summary>
/// LLaVA-NeXT any-res: the grid pinpoint (height, width) that keeps the most of the image is chosen, the image is
/// resized into it keeping its aspect ratio, padded with zeros to fill it and cut into crop-sized tiles; the first tile
/// is the whole image squashed to size x size. Every tile then goes through resize, center crop, rescale and
/// normalize. pixel_values is tiles x 3 x crop x crop (one image, so no padding to a batch's tile count).
/// </summary>
public sealed class LlavaNextImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    /// <summary>select_best_resolution: the most effective pixels, then the least waste; pinpoints are (height, width).</summary>
    public static (int Height, int Width) SelectBestResolution(int height, int width, IReadOnlyList<int[]> pinpoints)
    {
        if (pinpoints.Count == 0) throw new ArgumentException("image_grid_pinpoints is empty");
        (int, int) best = (0, 0);
        long maxEffective = 0;
        double minWasted = double.PositiveInfinity;
        foreach (var p in pinpoints)
        {
            int ph = p[0], pw = p[1];
            double scale = Math.Min((double)pw / width, (double)ph / height);
            long dw = (long)(width * scale), dh = (long)(height * scale);
            long effective = Math.Min(dw * dh, (long)width * height);
            long wasted = (long)pw * ph - effective;
            if (effective > maxEffective || (effective == maxEffective && wasted < minWasted))
            {
                maxEffective = effective;
                minWasted = wasted;
                best = (ph, pw);
            }
        }
        return best;
    }

    /// <summary>get_patch_output_size: the size inside (targetH, targetW) that keeps the image's aspect ratio.</summary>
    public static (int Height, int Width) PatchOutputSize(int height, int width, int targetH, int targetW)
    {
        double scaleW = (double)targetW / width, scaleH = (double)targetH / height;
        return scaleW < scaleH
            ? (Math.Min((int)Math.Ceiling(height * scaleW), targetH), targetW)
            : (targetH, Math.Min((int)Math.Ceiling(width * scaleH), targetW));
    }

    public int TileSize => Config.CropSize?.Height ?? Config.Size?.Height ?? Config.Size?.ShortestEdge
        ?? throw new ArgumentException("LLaVA-NeXT image processor needs crop_size or size");

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        int tile = TileSize;
        var (bh, bw) = SelectBestResolution(image.Height, image.Width, c.ImageGridPinpoints);
        var (nh, nw) = PatchOutputSize(image.Height, image.Width, bh, bw);
        var resized = PilResize.Resize(image, nw, nh, c.Resample);
        // Pad to the pinpoint, centered (the extra pixel of an odd margin goes after).
        int padTop = (bh - nh) / 2, padLeft = (bw - nw) / 2;
        var padded = resized.Crop(-padTop, -padLeft, bh, bw);

        int squareH = c.Size?.Height ?? c.Size?.ShortestEdge ?? tile, squareW = c.Size?.Width ?? c.Size?.ShortestEdge ?? tile;
        var tiles = new List<RgbImage> { PilResize.Resize(image, squareW, squareH, c.Resample) };
        for (int y = 0; y < bh; y += tile)
            for (int x = 0; x < bw; x += tile)
                tiles.Add(padded.Crop(y, x, Math.Min(tile, bh - y), Math.Min(tile, bw - x)));

        var outputs = new List<float[]>();
        int th = 0, tw = 0;
        foreach (var t in tiles)
        {
            var img = t;
            if (c.DoResize && c.Size != null) img = Resize(img, c.Size);
            if (c.DoCenterCrop && c.CropSize is { Height: int ch, Width: int cw }) img = ImageTransforms.CenterCrop(img, ch, cw);
            if (outputs.Count > 0 && (img.Height != th || img.Width != tw))
                throw new ArgumentException($"LLaVA-NeXT tiles differ in size ({img.Width}x{img.Height} vs {tw}x{th}): set crop_size");
            (th, tw) = (img.Height, img.Width);
            outputs.Add(ImageTransforms.ToChw(img, c));
        }
        var pixels = new float[outputs.Count * 3 * th * tw];
        for (int i = 0; i < outputs.Count; i++) outputs[i].CopyTo(pixels, i * 3 * th * tw);
        return new ProcessedImage(pixels, [outputs.Count, 3, th, tw], image.Height, image.Width);
    }
}
