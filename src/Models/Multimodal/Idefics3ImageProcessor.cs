namespace Pipeline.Models.Multimodal;

/// <summary>
/// Idefics3ImageProcessor / SmolVLMImageProcessor (PIL backend): the longest edge is resized to size.longest_edge
/// (the other keeping the aspect ratio, rounded up to even), then both edges up to multiples of
/// max_image_size.longest_edge, which is cut into rows x cols tiles of that size followed by the whole image squashed
/// to one tile (the global image); an image that is one tile already is not split (rows = cols = 0). pixel_values is
/// tiles x 3 x M x M. Every tile is a full M x M square, so the pixel attention mask is all ones.
/// </summary>
public sealed class Idefics3ImageProcessor(ImageProcessorConfig config) : ImageProcessor(config)
{
    /// <summary>MAX_IMAGE_SIZE: no resized edge passes 4096 pixels.</summary>
    const int MaxImageSize = 4096;

    public int TileSize => Config.Raw["max_image_size"]?["longest_edge"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<double>(out var m)
        ? (int)m : 364;

    public bool DoImageSplitting => Config.Raw["do_image_splitting"] is System.Text.Json.Nodes.JsonValue v && v.TryGetValue<bool>(out var b) ? b : true;

    /// <summary>_resize_output_size_rescale_to_max_len then _resize_output_size_scale_below_upper_bound.</summary>
    public static (int Height, int Width) LongestEdgeSize(int height, int width, int maxLen)
    {
        double aspect = (double)width / height;
        if (width >= height)
        {
            width = maxLen;
            height = (int)(width / aspect);
            if (height % 2 != 0) height++;
        }
        else
        {
            height = maxLen;
            width = (int)(height * aspect);
            if (width % 2 != 0) width++;
        }
        height = Math.Max(height, 1);
        width = Math.Max(width, 1);
        aspect = (double)width / height;
        if (width >= height && width > MaxImageSize)
        {
            width = MaxImageSize;
            height = (int)(width / aspect);
        }
        else if (height > width && height > MaxImageSize)
        {
            height = MaxImageSize;
            width = (int)(height * aspect);
        }
        return (Math.Max(height, 1), Math.Max(width, 1));
    }

    /// <summary>resize_for_vision_encoder: both edges up to multiples of the tile size (the second from the first's aspect ratio).</summary>
    public static (int Height, int Width) VisionEncoderSize(int height, int width, int tile)
    {
        double aspect = (double)width / height;
        if (width >= height)
        {
            width = (int)Math.Ceiling((double)width / tile) * tile;
            height = (int)(width / aspect);
            height = (int)Math.Ceiling((double)height / tile) * tile;
        }
        else
        {
            height = (int)Math.Ceiling((double)height / tile) * tile;
            width = (int)(height * aspect);
            width = (int)Math.Ceiling((double)width / tile) * tile;
        }
        return (height, width);
    }

    public override ProcessedImage Process(RgbImage image)
    {
        var c = Config;
        int tile = TileSize;
        var img = image;
        if (c.DoResize && c.Size is { } size)
        {
            var (h, w) = size.LongestEdge is int le ? LongestEdgeSize(img.Height, img.Width, le)
                : size is { Height: int sh, Width: int sw } ? (sh, sw)
                : throw new ArgumentException("Idefics3 image processor: size must have longest_edge or height and width");
            img = PilResize.Resize(img, w, h, c.Resample);
        }
        var frames = new List<RgbImage>();
        int rows = 0, cols = 0;
        if (DoImageSplitting)
        {
            var (h, w) = VisionEncoderSize(img.Height, img.Width, tile);
            img = PilResize.Resize(img, w, h, c.Resample);
            if (img.Height > tile || img.Width > tile)
            {
                rows = (img.Height - tile) / tile + 1;
                cols = (img.Width - tile) / tile + 1;
                for (int r = 0; r < rows; r++)
                    for (int q = 0; q < cols; q++)
                        frames.Add(img.Crop(r * tile, q * tile, tile, tile));
                frames.Add(PilResize.Resize(img, tile, tile, c.Resample));
            }
            else frames.Add(img);
        }
        else frames.Add(PilResize.Resize(img, tile, tile, c.Resample));

        // Pad every frame to the largest (bottom/right, zeros after normalizing); they are all tile-sized in practice.
        int th = frames.Max(f => f.Height), tw = frames.Max(f => f.Width);
        var pixels = new float[frames.Count * 3 * th * tw];
        for (int i = 0; i < frames.Count; i++)
        {
            var chw = ImageTransforms.ToChw(frames[i], c);
            if (c.DoPad) chw = ImageTransforms.PadChw(chw, frames[i].Height, frames[i].Width, th, tw);
            else if (frames[i].Height != th || frames[i].Width != tw) throw new ArgumentException("Idefics3 image processor: tiles differ in size and do_pad is off");
            chw.CopyTo(pixels, i * 3 * th * tw);
        }
        return new ProcessedImage(pixels, [frames.Count, 3, th, tw], image.Height, image.Width) { Rows = rows, Cols = cols };
    }
}
