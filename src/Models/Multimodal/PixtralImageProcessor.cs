using System.Text.Json.Nodes;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// PixtralImageProcessor as PixtralProcessor calls it (Pixtral-12B, Mistral3): the image shrinks (never grows) to fit
/// size.longest_edge (or height x width) with its aspect ratio, each side then rounded up to a multiple of the patch,
/// and is resized to that; rescale, normalize, no crop. pixel_values is 3 x H x W for this image alone (transformers
/// pads a batch to its largest image; the model reads each image's own size). The patch is the processor's
/// patch_size x spatial_merge_size, which PixtralProcessor passes to the image processor (so every merged token is whole).
/// </summary>
public sealed class PixtralImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    /// <summary>The side unit of the resized image: processor patch_size x spatial_merge_size, else the image processor's patch_size.</summary>
    public int PatchSize { get; } = EffectivePatch(config);

    static int EffectivePatch(ImageProcessorConfig c)
    {
        static int? Int(JsonNode? n) => n switch
        {
            JsonValue v when v.TryGetValue<int>(out var i) => i,
            JsonValue v when v.TryGetValue<double>(out var x) => (int)x,
            JsonObject o => Int(o["height"]),
            _ => null,
        };
        if (c.Processor["processor_class"] != null || c.Processor["patch_size"] != null)
            return (Int(c.Processor["patch_size"]) ?? 16) * (Int(c.Processor["spatial_merge_size"]) ?? 1);
        return Int(c.Raw["patch_size"]) ?? 16;
    }

    /// <summary>get_resize_output_image_size: shrink to fit (maxHeight, maxWidth), then round each side up to the patch.</summary>
    public static (int Height, int Width) ResizedSize(int height, int width, int maxHeight, int maxWidth, int patch)
    {
        double ratio = Math.Max((double)height / maxHeight, (double)width / maxWidth);
        if (ratio > 1)
        {
            height = (int)Math.Floor(height / ratio);
            width = (int)Math.Floor(width / ratio);
        }
        // Python's (n - 1) // patch + 1: a side shrunk to 0 stays 0 (and is refused below).
        static int Tokens(int n, int p) => (int)Math.Floor((double)(n - 1) / p) + 1;
        return (Tokens(height, patch) * patch, Tokens(width, patch) * patch);
    }

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        var img = image;
        if (c.DoResize)
        {
            var size = c.Size ?? new SizeSpec(LongestEdge: 1024);
            var (maxH, maxW) = size.LongestEdge is int le ? (le, le)
                : size is { Height: int sh, Width: int sw } ? (sh, sw)
                : throw new ArgumentException("Pixtral image processor: size must contain longest_edge, or height and width");
            var (h, w) = ResizedSize(image.Height, image.Width, maxH, maxW, PatchSize);
            if (h <= 0 || w <= 0)
                throw new MediaException($"the image ({image.Width}x{image.Height}) is too narrow: one side shrinks to nothing at longest edge {Math.Max(maxH, maxW)}");
            img = PilResize.Resize(image, w, h, c.Resample);
        }
        if (c.DoCenterCrop && c.CropSize is { Height: int ch, Width: int cw }) img = ImageTransforms.CenterCrop(img, ch, cw);
        return new ProcessedImage(ImageTransforms.ToChw(img, c), [3, img.Height, img.Width], image.Height, image.Width);
    }
}
