using System.Diagnostics;
using System.Text.Json.Nodes;
using Pipeline.Host.Cli;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using SkiaSharp;

namespace Pipeline.Host.Commands;

/// <summary>
/// `pipeline bench-preprocess`: images/s of the preprocessing stage's work (decode with SkiaSharp, then the model's image
/// processor and placeholder count) for each vision-language model folder, on one thread and on every core.
/// </summary>
public static class BenchPreprocessCommand
{
    public static readonly CommandSpec Spec = new("bench-preprocess", "Images/s of image decoding + the model's image processor, for a model folder or each one under a folder.", ["DIR"],
    [
        new("width", "width of the test image", "1024"),
        new("height", "height of the test image", "768"),
        new("format", "encoding of the test image: jpeg or png", "jpeg"),
        new("images", "images timed per model and mode", "40"),
    ]);

    public static int Run(ParsedArgs args)
    {
        var root = args.Positionals.Count > 0 ? args.Positionals[0] : "tests/fixtures/multimodal/models";
        if (!Directory.Exists(root)) throw new CliException($"{root}: no such folder");
        var dirs = File.Exists(Path.Combine(root, "config.json")) ? [root] : Directory.GetDirectories(root).Order(StringComparer.Ordinal).ToList();
        int w = args.Int("width"), h = args.Int("height"), n = args.Int("images");
        if (w < 1 || h < 1 || n < 1) throw new CliException("--width, --height and --images must be positive");
        var format = args.Get("format") switch
        {
            "jpeg" or "jpg" => SKEncodedImageFormat.Jpeg,
            "png" => SKEncodedImageFormat.Png,
            var f => throw new CliException($"--format must be jpeg or png, got '{f}'"),
        };
        var bytes = TestImage(w, h, format);
        Console.WriteLine($"{w}x{h} {format.ToString().ToUpperInvariant()} ({bytes.Length} bytes), {Environment.ProcessorCount} cores; decode alone: {Rate(n, 1, () => ImageDecoder.Decode(bytes)):F1} images/s on one thread");
        foreach (var dir in dirs)
        {
            if (ImageProcessorConfig.FromDirectory(dir) is not { } processorConfig) continue;
            var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
            var tokenizer = File.Exists(Path.Combine(dir, "tokenizer.json")) ? HfTokenizer.Load(dir) : null;
            var placeholders = ImagePlaceholders.Create(config, processorConfig, tokenizer == null ? null : tokenizer.TokenToId,
                tokenizer == null ? null : text => tokenizer.Encode(text, addSpecialTokens: false));
            int tokens = 0;
            void One() => tokens = placeholders.NumImageTokens(placeholders.Images.Process(ImageDecoder.Decode(bytes)));
            double single = Rate(n, 1, One), all = Rate(n, Environment.ProcessorCount, One);
            Console.WriteLine($"{Path.GetFileName(dir.TrimEnd('/'))} ({processorConfig.ImageProcessorType}, {tokens} image tokens): " +
                $"{single:F1} images/s on one thread ({1000 / single:F1} ms each), {all:F1} images/s on {Environment.ProcessorCount} threads");
        }
        return 0;
    }

    /// <summary>Images per second of <paramref name="work"/> over <paramref name="n"/> runs on <paramref name="threads"/> threads, after two warm-up runs.</summary>
    static double Rate(int n, int threads, Action work)
    {
        work();
        work();
        var sw = Stopwatch.StartNew();
        Parallel.For(0, n, new ParallelOptions { MaxDegreeOfParallelism = threads }, _ => work());
        return n / sw.Elapsed.TotalSeconds;
    }

    /// <summary>A photo-like test image: smooth colour gradients with fine noise (so JPEG and PNG do real work).</summary>
    static byte[] TestImage(int w, int h, SKEncodedImageFormat format)
    {
        using var bitmap = new SKBitmap(new SKImageInfo(w, h, SKColorType.Rgba8888, SKAlphaType.Unpremul));
        var rng = new Random(1);
        for (int y = 0; y < h; y++)
            for (int x = 0; x < w; x++)
                bitmap.SetPixel(x, y, new SKColor((byte)(255 * x / w ^ rng.Next(16)), (byte)(255 * y / h ^ rng.Next(16)), (byte)((x + y) % 256 ^ rng.Next(16))));
        using var data = bitmap.Encode(format, 90);
        return data.ToArray();
    }
}
