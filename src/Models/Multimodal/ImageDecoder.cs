using System.Runtime.InteropServices;
using SkiaSharp;

namespace Pipeline.Models.Multimodal;

/// <summary>
/// Decodes PNG, JPEG, WebP, GIF (first frame) and BMP bytes into an <see cref="RgbImage"/> with SkiaSharp, giving what
/// transformers' processors are given: PIL's decode followed by <c>convert("RGB")</c> (alpha dropped, not composited;
/// grayscale and palette expanded; no color-profile conversion), with the EXIF orientation applied as
/// <c>transformers.image_utils.load_image</c> does.
/// </summary>
public static class ImageDecoder
{
    public const string Supported = "PNG, JPEG, WebP, GIF, BMP";

    /// <summary>Default ceiling on decoded pixels (PIL warns of a decompression bomb at 89,478,485 pixels).</summary>
    public const long DefaultMaxPixels = 89_478_485;

    public static RgbImage Decode(ReadOnlySpan<byte> bytes, long maxPixels = DefaultMaxPixels)
    {
        if (bytes.IsEmpty) throw new MediaException("the image is empty (0 bytes)");
        using var data = SKData.CreateCopy(bytes);
        using var stream = new SKMemoryStream(data);
        using var codec = SKCodec.Create(stream, out var created);
        if (codec == null)
            throw new MediaException(Sniff(bytes) is not string sniffed
                ? $"the image could not be decoded: not a known image format (supported: {Supported})"
                : created == SKCodecResult.IncompleteInput
                    ? $"the {sniffed} image is truncated (its data ends before the image does)"
                    : $"the {sniffed} image could not be decoded ({created})");
        var format = codec.EncodedFormat;
        if (format is not (SKEncodedImageFormat.Png or SKEncodedImageFormat.Jpeg or SKEncodedImageFormat.Webp
            or SKEncodedImageFormat.Gif or SKEncodedImageFormat.Bmp))
            throw new MediaException($"unsupported image format {format.ToString().ToUpperInvariant()} (supported: {Supported})");
        int w = codec.Info.Width, h = codec.Info.Height;
        if (w <= 0 || h <= 0) throw new MediaException($"the {format} image has no pixels ({w}x{h})");
        if ((long)w * h > maxPixels)
            throw new MediaException($"the image is too large: {w}x{h} = {(long)w * h} pixels, more than the limit of {maxPixels}");

        var info = new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul);
        var rgba = new byte[checked(w * h * 4)];
        var handle = GCHandle.Alloc(rgba, GCHandleType.Pinned);
        SKCodecResult result;
        try { result = codec.GetPixels(info, handle.AddrOfPinnedObject(), new SKCodecOptions(0)); }
        finally { handle.Free(); }
        if (result == SKCodecResult.IncompleteInput)
            throw new MediaException($"the {format} image is truncated (its data ends before the image does)");
        if (result != SKCodecResult.Success)
            throw new MediaException($"the {format} image could not be decoded ({result})");

        var rgb = new byte[w * h * 3];
        for (int i = 0, j = 0; i < rgb.Length; i += 3, j += 4)
        {
            rgb[i] = rgba[j]; rgb[i + 1] = rgba[j + 1]; rgb[i + 2] = rgba[j + 2];
        }
        return Orient(new RgbImage(w, h, rgb), codec.EncodedOrigin);
    }

    /// <summary>The format named by the bytes' signature, or null (a cheap check before decoding).</summary>
    public static string? Sniff(ReadOnlySpan<byte> b) =>
        b.StartsWith("\x89PNG"u8) ? "PNG"
        : b.Length >= 3 && b[0] == 0xFF && b[1] == 0xD8 && b[2] == 0xFF ? "JPEG"
        : b.Length >= 12 && b.StartsWith("RIFF"u8) && b[8..12].SequenceEqual("WEBP"u8) ? "WEBP"
        : b.StartsWith("GIF87a"u8) || b.StartsWith("GIF89a"u8) ? "GIF"
        : b.StartsWith("BM"u8) ? "BMP"
        : null;

    /// <summary>PIL's <c>ImageOps.exif_transpose</c>: rotate/flip so that the EXIF origin becomes top-left.</summary>
    static RgbImage Orient(RgbImage img, SKEncodedOrigin origin)
    {
        if (origin is SKEncodedOrigin.TopLeft or 0) return img;
        bool swap = origin is SKEncodedOrigin.LeftTop or SKEncodedOrigin.RightTop or SKEncodedOrigin.RightBottom or SKEncodedOrigin.LeftBottom;
        int w = img.Width, h = img.Height, ow = swap ? h : w, oh = swap ? w : h;
        var dst = new byte[img.Pixels.Length];
        for (int y = 0; y < oh; y++)
            for (int x = 0; x < ow; x++)
            {
                // (sx, sy): the stored pixel shown at (x, y) once the orientation is applied.
                var (sx, sy) = origin switch
                {
                    SKEncodedOrigin.TopRight => (w - 1 - x, y),
                    SKEncodedOrigin.BottomRight => (w - 1 - x, h - 1 - y),
                    SKEncodedOrigin.BottomLeft => (x, h - 1 - y),
                    SKEncodedOrigin.LeftTop => (y, x),
                    SKEncodedOrigin.RightTop => (y, h - 1 - x),
                    SKEncodedOrigin.RightBottom => (w - 1 - y, h - 1 - x),
                    SKEncodedOrigin.LeftBottom => (w - 1 - y, x),
                    _ => (x, y),
                };
                Buffer.BlockCopy(img.Pixels, (sy * w + sx) * 3, dst, (y * ow + x) * 3, 3);
            }
        return new RgbImage(ow, oh, dst);
    }
}
