namespace Pipeline.Models.Multimodal;

/// <summary>
/// Qwen2-VL / Qwen2.5-VL: smart resize to multiples of patch_size x merge_size within [min_pixels, max_pixels]
/// (size.shortest_edge / size.longest_edge), rescale, normalize, then flatten into patches of
/// C x temporal_patch_size x patch x patch (the image repeated over the temporal patch), ordered so that each
/// merge_size x merge_size block of patches is contiguous. pixel_values is (grid_t*grid_h*grid_w) x (C*T*P*P).
/// </summary>
public sealed class Qwen2VLImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    /// <summary>smart_resize: the (height, width) the image is resized to.</summary>
    public static (int Height, int Width) SmartResize(int height, int width, int factor, int minPixels, int maxPixels)
    {
        if ((double)Math.Max(height, width) / Math.Min(height, width) > 200)
            throw new MediaException($"the image's aspect ratio must be at most 200, got {(double)Math.Max(height, width) / Math.Min(height, width):0.#} ({width}x{height})");
        int hBar = (int)Math.Round((double)height / factor, MidpointRounding.ToEven) * factor;
        int wBar = (int)Math.Round((double)width / factor, MidpointRounding.ToEven) * factor;
        if ((long)hBar * wBar > maxPixels)
        {
            double beta = Math.Sqrt((double)height * width / maxPixels);
            hBar = Math.Max(factor, (int)Math.Floor(height / beta / factor) * factor);
            wBar = Math.Max(factor, (int)Math.Floor(width / beta / factor) * factor);
        }
        else if ((long)hBar * wBar < minPixels)
        {
            double beta = Math.Sqrt((double)minPixels / ((double)height * width));
            hBar = (int)Math.Ceiling(height * beta / factor) * factor;
            wBar = (int)Math.Ceiling(width * beta / factor) * factor;
        }
        return (hBar, wBar);
    }

    public (int Height, int Width) ResizedSize(int height, int width)
    {
        var c = Config;
        if (!c.DoResize) return (height, width);
        var size = c.Size ?? throw new ArgumentException("Qwen2-VL image processor needs size.shortest_edge and size.longest_edge");
        return SmartResize(height, width, c.PatchSize * c.MergeSize, size.ShortestEdge ?? 56 * 56, size.LongestEdge ?? 28 * 28 * 1280);
    }

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        var (rh, rw) = ResizedSize(image.Height, image.Width);
        var img = c.DoResize ? PilResize.Resize(image, rw, rh, c.Resample) : image;
        var chw = ImageTransforms.ToChw(img, c);
        int p = c.PatchSize, m = c.MergeSize, t = c.TemporalPatchSize;
        if (rh % (p * m) != 0 || rw % (p * m) != 0)
            throw new MediaException($"the image ({rw}x{rh}) is not a multiple of patch_size x merge_size = {p * m}");
        int gh = rh / p, gw = rw / p, row = 3 * t * p * p;
        var result = new float[gh * gw * row];
        int n = 0;
        // Patch order: (h block, w block, h in block, w in block); within a patch: channel, temporal copy, y, x.
        for (int bh = 0; bh < gh / m; bh++)
            for (int bw = 0; bw < gw / m; bw++)
                for (int ih = 0; ih < m; ih++)
                    for (int iw = 0; iw < m; iw++, n++)
                    {
                        int y0 = (bh * m + ih) * p, x0 = (bw * m + iw) * p, o = n * row;
                        for (int ch = 0; ch < 3; ch++)
                            for (int tt = 0; tt < t; tt++)
                                for (int y = 0; y < p; y++, o += p)
                                    Array.Copy(chw, (ch * rh + y0 + y) * rw + x0, result, o, p);
                    }
        return new ProcessedImage(result, [gh * gw, row], image.Height, image.Width, [1, gh, gw]);
    }
}
