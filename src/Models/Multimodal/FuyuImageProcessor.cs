using System.Text.Json.Nodes;
using Pipeline.Models.Config;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// transformers' FuyuImageProcessor (PIL backend) with FuyuProcessor's patch step: an image larger than size is shrunk
/// to fit it keeping its aspect (int(side x min scale)), never enlarged; it is padded at the bottom and right to size
/// with padding_value (on the 8-bit values, before rescale and normalize), then cut to whole patches covering the
/// unpadded part, and patchified. pixel_values are the patches, rows x cols x (patch_h x patch_w x 3, channels fastest).
/// </summary>
public sealed class FuyuImageProcessor : ImageProcessor
{
    public int PatchHeight { get; }
    public int PatchWidth { get; }
    readonly byte _padding;

    public FuyuImageProcessor(ImageProcessorConfig config) : base(config)
    {
        if (config.Size is not { Height: int, Width: int }) throw new ModelConfigException("FuyuImageProcessor: size must give height and width");
        (PatchHeight, PatchWidth) = config.Raw["patch_size"] switch
        {
            null => (30, 30),
            JsonObject o => (o["height"]?.GetValue<int>() ?? 30, o["width"]?.GetValue<int>() ?? 30),
            JsonValue v when v.TryGetValue<int>(out var p) => (p, p),
            var other => throw new ModelConfigException($"FuyuImageProcessor: patch_size {other.ToJsonString()} must be a number or {{height, width}}"),
        };
        if (config.Raw["padding_mode"] is JsonValue m && m.GetValue<string>() != "constant")
            throw new ModelConfigException($"FuyuImageProcessor: padding_mode '{m.GetValue<string>()}' is not supported (constant)");
        double pad = config.Raw["padding_value"] is JsonValue pv && pv.TryGetValue<double>(out var x) ? x : 1.0;
        if (pad < 0 || pad > 255) throw new ModelConfigException($"FuyuImageProcessor: padding_value {pad} is outside the 8-bit range");
        _padding = (byte)pad; // numpy casts the constant to the uint8 image's type: truncation
    }

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        int th = c.Size!.Height!.Value, tw = c.Size.Width!.Value;
        var img = image;
        if (c.DoResize && !(img.Width <= tw && img.Height <= th))
        {
            double scale = Math.Min((double)th / img.Height, (double)tw / img.Width);
            img = PilResize.Resize(img, (int)(img.Width * scale), (int)(img.Height * scale), c.Resample);
        }
        int h = img.Height, w = img.Width;
        if (c.DoPad && (h < th || w < tw))
        {
            var padded = new RgbImage(Math.Max(w, tw), Math.Max(h, th), Enumerable.Repeat(_padding, Math.Max(w, tw) * Math.Max(h, th) * 3).ToArray());
            for (int y = 0; y < h; y++) Buffer.BlockCopy(img.Pixels, y * w * 3, padded.Pixels, y * padded.Width * 3, w * 3);
            img = padded;
        }
        // The patches cover the unpadded image rounded up to whole patches (within the padded canvas).
        int newH = Math.Min(img.Height, (h + PatchHeight - 1) / PatchHeight * PatchHeight);
        int newW = Math.Min(img.Width, (w + PatchWidth - 1) / PatchWidth * PatchWidth);
        if (newH % PatchHeight != 0 || newW % PatchWidth != 0)
            throw new MediaException($"Fuyu: the processed image {newH}x{newW} is not a whole number of {PatchHeight}x{PatchWidth} patches");
        var chw = ImageTransforms.ToChw(img, c);
        int rows = newH / PatchHeight, cols = newW / PatchWidth, dim = PatchHeight * PatchWidth * 3, plane = img.Height * img.Width;
        var patches = new float[rows * cols * dim];
        for (int r = 0; r < rows; r++)
            for (int col = 0; col < cols; col++)
            {
                int o = (r * cols + col) * dim;
                for (int y = 0; y < PatchHeight; y++)
                    for (int x = 0; x < PatchWidth; x++)
                    {
                        int src = (r * PatchHeight + y) * img.Width + col * PatchWidth + x;
                        for (int ch = 0; ch < 3; ch++) patches[o++] = chw[ch * plane + src];
                    }
            }
        return new ProcessedImage(patches, [rows, cols, dim], image.Height, image.Width);
    }
}
