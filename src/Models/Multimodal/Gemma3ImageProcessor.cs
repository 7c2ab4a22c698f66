namespace Pipeline.Models.Multimodal;

/// <summary>
/// transformers' Gemma3ImageProcessor (PIL backend): the image resized to size (896 x 896 for the real models; bilinear),
/// rescaled and normalized. With pan-and-scan (off by default, as in Gemma3Processor; on when the processor config says
/// do_pan_and_scan) an image whose aspect ratio reaches pan_and_scan_min_ratio_to_activate is also cut into 2 to
/// pan_and_scan_max_num_crops crops along its long side, each at least pan_and_scan_min_crop_size pixels, and every
/// crop is processed like the image. pixel_values is (1 + crops) x 3 x H x W, the image first.
/// </summary>
public sealed class Gemma3ImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    public bool DoPanAndScan => Flag("do_pan_and_scan") ?? false;
    public int MinCropSize => Int("pan_and_scan_min_crop_size") ?? 256;
    public int MaxNumCrops => Int("pan_and_scan_max_num_crops") ?? 4;
    public double MinRatioToActivate => Double("pan_and_scan_min_ratio_to_activate") ?? 1.2;

    bool? Flag(string key) => (Config.Raw[key] ?? Config.Processor[key]) is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var b) ? b : null;
    double? Double(string key) => (Config.Raw[key] ?? Config.Processor[key]) is System.Text.Json.Nodes.JsonValue v
        ? v.TryGetValue<double>(out var d) ? d : v.TryGetValue<int>(out var i) ? i : null
        : null;
    int? Int(string key) => Double(key) is double d ? (int)d : null;

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        var images = new List<RgbImage> { image };
        if (DoPanAndScan) images.AddRange(PanAndScan(image, MinCropSize, MaxNumCrops, MinRatioToActivate));
        var outputs = new List<float[]>();
        int h = 0, w = 0;
        foreach (var one in images)
        {
            var img = c.DoResize && c.Size != null ? Resize(one, c.Size) : one;
            if (outputs.Count > 0 && (img.Height != h || img.Width != w))
                throw new ArgumentException($"Gemma 3 crops differ in size ({img.Width}x{img.Height} vs {w}x{h}): the processor config needs a height x width size");
            (h, w) = (img.Height, img.Width);
            outputs.Add(ImageTransforms.ToChw(img, c));
        }
        var pixels = new float[outputs.Count * 3 * h * w];
        for (int i = 0; i < outputs.Count; i++) outputs[i].CopyTo(pixels, i * 3 * h * w);
        return new ProcessedImage(pixels, [outputs.Count, 3, h, w], image.Height, image.Width);
    }

    /// <summary>The number of crops pan-and-scan makes of an image of this size (0: none).</summary>
    public int NumCrops(int height, int width)
    {
        if (!DoPanAndScan) return 0;
        var (nh, nw, _, _) = CropGrid(height, width, MinCropSize, MaxNumCrops, MinRatioToActivate);
        return nh * nw > 1 ? nh * nw : 0;
    }

    /// <summary>Gemma3ImageProcessor.pan_and_scan: the crops, row by row (none when the image is not elongated enough or they would be too small).</summary>
    public static List<RgbImage> PanAndScan(RgbImage image, int minCropSize, int maxNumCrops, double minRatio)
    {
        var crops = new List<RgbImage>();
        var (nh, nw, ch, cw) = CropGrid(image.Height, image.Width, minCropSize, maxNumCrops, minRatio);
        if (nh * nw <= 1) return crops;
        // numpy slicing: the last crop stops at the image's edge.
        for (int y = 0; y < nh; y++)
            for (int x = 0; x < nw; x++)
                crops.Add(image.Crop(y * ch, x * cw, Math.Min(ch, image.Height - y * ch), Math.Min(cw, image.Width - x * cw)));
        return crops;
    }

    static (int Rows, int Cols, int CropH, int CropW) CropGrid(int height, int width, int minCropSize, int maxNumCrops, double minRatio)
    {
        int nw, nh;
        if (width >= height)
        {
            if ((double)width / height < minRatio) return (1, 1, height, width);
            nw = (int)Math.Floor((double)width / height + 0.5);
            nw = Math.Min(width / minCropSize, nw);
            nw = Math.Min(maxNumCrops, Math.Max(2, nw));
            nh = 1;
        }
        else
        {
            if ((double)height / width < minRatio) return (1, 1, height, width);
            nh = (int)Math.Floor((double)height / width + 0.5);
            nh = Math.Min(height / minCropSize, nh);
            nh = Math.Min(maxNumCrops, Math.Max(2, nh));
            nw = 1;
        }
        int cw = (int)Math.Ceiling((double)width / nw), ch = (int)Math.Ceiling((double)height / nh);
        if (Math.Min(cw, ch) < minCropSize) return (1, 1, height, width);
        return (nh, nw, ch, cw);
    }
}
