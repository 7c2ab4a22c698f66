namespace Pipeline.Models.Multimodal;

/// <summary>
/// A decoded 8-bit RGB image, row-major with channels last (H x W x 3), as PIL's <c>np.array(img.convert("RGB"))</c>.
/// The geometric steps of an image processor (resize, crop, pad) work on this, in 8 bits, as transformers' PIL path does.
/// </summary>
public sealed class RgbImage
{
    public int Width { get; }
    public int Height { get; }
    public byte[] Pixels { get; }

    public RgbImage(int width, int height, byte[] pixels)
    {
        if (width <= 0 || height <= 0) throw new ArgumentException($"image size {width}x{height} is empty");
        if (pixels.Length != checked(width * height * 3)) throw new ArgumentException($"{pixels.Length} bytes is not {width}x{height}x3");
        (Width, Height, Pixels) = (width, height, pixels);
    }

    public static RgbImage Blank(int width, int height) => new(width, height, new byte[checked(width * height * 3)]);

    /// <summary>The rectangle [top, top+height) x [left, left+width); parts outside the image are zero (black).</summary>
    public RgbImage Crop(int top, int left, int height, int width)
    {
        var result = Blank(width, height);
        for (int y = 0; y < height; y++)
        {
            int sy = top + y;
            if (sy < 0 || sy >= Height) continue;
            int x0 = Math.Max(0, -left), x1 = Math.Min(width, Width - left);
            if (x1 <= x0) continue;
            Buffer.BlockCopy(Pixels, (sy * Width + left + x0) * 3, result.Pixels, (y * width + x0) * 3, (x1 - x0) * 3);
        }
        return result;
    }
}
