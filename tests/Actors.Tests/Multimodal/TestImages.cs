using SkiaSharp;

namespace Pipeline.Actors.Tests.Multimodal;

/// <summary>Small encoded images for tests, drawn here and encoded by Skia.</summary>
static class TestImages
{
    public static byte[] Png(int width = 8, int height = 6, byte seed = 0) => Encode(width, height, seed, SKEncodedImageFormat.Png);
    public static byte[] Jpeg(int width = 8, int height = 6, byte seed = 0) => Encode(width, height, seed, SKEncodedImageFormat.Jpeg);

    static byte[] Encode(int width, int height, byte seed, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(width, height, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        for (int y = 0; y < height; y++)
            for (int x = 0; x < width; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(x * 30 + seed), (byte)(y * 40), (byte)(seed * 7), 255));
        using var data = bitmap.Encode(format, 95);
        return data.ToArray();
    }

    public static string DataUrl(byte[] bytes, string mime = "image/png") => $"data:{mime};base64,{Convert.ToBase64String(bytes)}";
}
