namespace Pipeline.Models.Multimodal;

/// <summary>transformers.image_transforms / image_processing_utils, on <see cref="RgbImage"/> (8-bit) and CHW float32.</summary>
public static class ImageTransforms
{
    /// <summary>The (height, width) a PIL backend's <c>resize(size=...)</c> produces for an image of this size.</summary>
    public static (int Height, int Width) ResizeOutputSize(int height, int width, SizeSpec size)
    {
        if (size.ShortestEdge is int se && size.LongestEdge is int le) return SizeWithAspectRatio(height, width, se, le);
        if (size.ShortestEdge is int s)
        {
            // get_resize_output_image_size(default_to_square=False): the short side becomes s, the long one is truncated.
            int shortSide = Math.Min(width, height), longSide = Math.Max(width, height);
            int newLong = (int)((double)s * longSide / shortSide);
            return width <= height ? (newLong, s) : (s, newLong);
        }
        if (size.MaxHeight is int mh && size.MaxWidth is int mw)
        {
            double scale = Math.Min((double)mh / height, (double)mw / width);
            return ((int)(height * scale), (int)(width * scale));
        }
        if (size.Height is int h && size.Width is int w) return (h, w);
        throw new ArgumentException("size must have shortest_edge, height and width, or max_height and max_width");
    }

    /// <summary>get_size_with_aspect_ratio: shortest edge <paramref name="size"/> unless the long edge would pass <paramref name="maxSize"/>.</summary>
    static (int, int) SizeWithAspectRatio(int height, int width, int size, int maxSize)
    {
        double? raw = null;
        double minOrig = Math.Min(height, width), maxOrig = Math.Max(height, width);
        if (maxOrig / minOrig * size > maxSize)
        {
            raw = maxSize * minOrig / maxOrig;
            size = (int)Math.Round(raw.Value, MidpointRounding.ToEven);
        }
        if ((height <= width && height == size) || (width <= height && width == size)) return (height, width);
        if (width < height) return ((int)((raw ?? size) * height / width), size);
        return (size, (int)((raw ?? size) * width / height));
    }

    /// <summary>image_transforms.center_crop: crops the middle, padding with zeros where the crop is larger.</summary>
    public static RgbImage CenterCrop(RgbImage img, int cropHeight, int cropWidth)
    {
        int top = FloorDiv(img.Height - cropHeight, 2), left = FloorDiv(img.Width - cropWidth, 2);
        if (top >= 0 && left >= 0 && top + cropHeight <= img.Height && left + cropWidth <= img.Width)
            return img.Crop(top, left, cropHeight, cropWidth);
        // Pad to max(crop, image) with the image centered (ceil), then crop from the shifted window.
        int newH = Math.Max(cropHeight, img.Height), newW = Math.Max(cropWidth, img.Width);
        int topPad = (newH - img.Height + 1) / 2, leftPad = (newW - img.Width + 1) / 2;
        int t = Math.Max(0, top + topPad), l = Math.Max(0, left + leftPad);
        int b = Math.Min(newH, top + topPad + cropHeight), r = Math.Min(newW, left + leftPad + cropWidth);
        return img.Crop(t - topPad, l - leftPad, b - t, r - l);
    }

    static int FloorDiv(int a, int b) => (int)Math.Floor((double)a / b);

    /// <summary>
    /// rescale then normalize, as transformers' numpy functions do them: float32(float64(x) * factor), then
    /// (x - mean) / std in float32, per channel; the result is channels first (C x H x W).
    /// </summary>
    public static float[] ToChw(RgbImage img, ImageProcessorConfig c)
    {
        int hw = img.Width * img.Height;
        var result = new float[3 * hw];
        var lut = new float[3 * 256];
        for (int ch = 0; ch < 3; ch++)
            for (int v = 0; v < 256; v++)
            {
                float x = c.DoRescale ? (float)(v * c.RescaleFactor) : v;
                if (c.DoNormalize) x = (x - c.ImageMean[ch]) / c.ImageStd[ch];
                lut[ch * 256 + v] = x;
            }
        var p = img.Pixels;
        for (int i = 0; i < hw; i++)
        {
            result[i] = lut[p[i * 3]];
            result[hw + i] = lut[256 + p[i * 3 + 1]];
            result[2 * hw + i] = lut[512 + p[i * 3 + 2]];
        }
        return result;
    }

    /// <summary>Pads a CHW image at the bottom and right with zeros (the PIL backend's <c>pad</c>).</summary>
    public static float[] PadChw(float[] chw, int height, int width, int toHeight, int toWidth)
    {
        if (toHeight < height || toWidth < width)
            throw new ArgumentException($"pad_size {toHeight}x{toWidth} is smaller than the image {height}x{width}");
        if (toHeight == height && toWidth == width) return chw;
        var result = new float[3 * toHeight * toWidth];
        for (int ch = 0; ch < 3; ch++)
            for (int y = 0; y < height; y++)
                Array.Copy(chw, (ch * height + y) * width, result, (ch * toHeight + y) * toWidth, width);
        return result;
    }
}
