using System.Text.Json.Nodes;
using Pipeline.Models.Multimodal;
using Xunit.Abstractions;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// Decoding and image processing against transformers' PIL-backend processors (fixtures made by
/// scripts/fixtures/make_image_processor_fixtures.py): the decoded RGB of each test image, and each processor
/// config's pixel_values, grid sizes and placeholder counts.
/// </summary>
public class ImageProcessorFixtureTests(ITestOutputHelper output)
{
    static readonly string Root = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "image-processors");
    static readonly HashSet<string> Lossy = ["photo.jpg", "wide.jpg", "photo.webp"];

    static SafetensorsArrays Decoded() => new(Path.Combine(Root, "decoded.safetensors"));

    public static IEnumerable<object[]> Images() =>
        Directory.Exists(Path.Combine(Root, "images"))
            ? Directory.GetFiles(Path.Combine(Root, "images")).Select(f => new object[] { Path.GetFileName(f) }).OrderBy(x => (string)x[0])
            : [["(no fixtures)"]];

    public static IEnumerable<object[]> CaseImages()
    {
        if (!Directory.Exists(Root)) { yield return ["(no fixtures)", ""]; yield break; }
        foreach (var dir in Directory.GetDirectories(Root).OrderBy(d => d))
        {
            var expected = Path.Combine(dir, "expected.json");
            if (!File.Exists(expected)) continue;
            foreach (var (image, _) in JsonNode.Parse(File.ReadAllText(expected))!["images"]!.AsObject())
                yield return [Path.GetFileName(dir), image];
        }
    }

    [Theory]
    [MemberData(nameof(Images))]
    public void Decodes_as_PIL_does(string image)
    {
        if (image.StartsWith('(')) return;
        var decoded = ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Root, "images", image)));
        var reference = Decoded();
        Assert.Equal(reference.Shape(image), new[] { decoded.Height, decoded.Width, 3 });
        var want = reference.Bytes(image);
        int maxDiff = 0, differing = 0;
        for (int i = 0; i < want.Length; i++)
        {
            int d = Math.Abs(want[i] - decoded.Pixels[i]);
            if (d > 0) differing++;
            maxDiff = Math.Max(maxDiff, d);
        }
        output.WriteLine($"{image}: {differing} of {want.Length} values differ, max {maxDiff}");
        // Lossless formats decode exactly; lossy ones through the same libraries (libjpeg-turbo, libwebp) within a step.
        Assert.True(Lossy.Contains(image) ? maxDiff <= 2 : maxDiff == 0, $"{image}: max difference {maxDiff}");
    }

    [Theory]
    [MemberData(nameof(CaseImages))]
    public void Pixel_values_match_transformers(string caseName, string image)
    {
        if (caseName.StartsWith('(')) return;
        var dir = Path.Combine(Root, caseName);
        var config = ImageProcessorConfig.FromDirectory(dir)!;
        var processed = ImageProcessor.Create(config).Process(Rgb(image));
        var outputs = new SafetensorsArrays(Path.Combine(dir, "outputs.safetensors"));
        var key = $"{image}.pixel_values";
        var shape = outputs.Shape(key);
        // Transformers returns a batch of one: drop the leading 1 (not for Qwen2-VL, whose patches are concatenated).
        var want = shape.Length == processed.Shape.Length + 1 ? shape[1..] : shape;
        Assert.Equal(want, processed.Shape);
        AssertClose(outputs.Floats(key), processed.PixelValues, 1e-5f, $"{caseName}/{image}");
        if (outputs.Has($"{image}.image_grid_thw"))
            Assert.Equal(outputs.Longs($"{image}.image_grid_thw").Select(x => (int)x).ToArray(), processed.GridThw);
        if (outputs.Has($"{image}.image_sizes"))
            Assert.Equal(outputs.Longs($"{image}.image_sizes").Select(x => (int)x).ToArray(), new[] { processed.Height, processed.Width });
    }

    [Theory]
    [MemberData(nameof(CaseImages))]
    public void Placeholder_tokens_expand_as_transformers_does(string caseName, string image)
    {
        if (caseName.StartsWith('(')) return;
        var dir = Path.Combine(Root, caseName);
        var expected = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "expected.json")))!;
        var entry = expected["images"]![image]!;
        if (entry["input_ids"] is not JsonArray idsNode) return; // a case without a full processor
        // transformers 5's processor_config.json (image processor nested, processor fields beside it).
        var config = ImageProcessorConfig.FromDirectory(Path.Combine(dir, "processor"))!;
        int tokenId = expected["image_token_id"]!.GetValue<int>();
        var modelType = config.Processor["processor_class"]!.GetValue<string>() switch
        {
            "LlavaProcessor" => "llava", "LlavaNextProcessor" => "llava_next", "Qwen2VLProcessor" => "qwen2_vl", var x => x,
        };
        var placeholders = ImagePlaceholders.Create(new JsonObject { ["model_type"] = modelType, ["image_token_index"] = tokenId }, config);
        var processed = placeholders.Images.Process(Rgb(image));
        var wantIds = idsNode.Select(x => x!.GetValue<int>()).ToArray();
        // The prompt before expansion: each run of image tokens collapsed to one.
        var prompt = wantIds.Where((id, i) => id != tokenId || i == 0 || wantIds[i - 1] != tokenId).ToArray();
        var (ids, ranges) = placeholders.Expand(prompt, [processed]);
        Assert.Equal(entry["num_image_tokens"]!.GetValue<int>(), ranges[0].Length);
        Assert.Equal(wantIds, ids);
    }

    static RgbImage Rgb(string image)
    {
        var reference = Decoded();
        var shape = reference.Shape(image);
        return new RgbImage(shape[1], shape[0], reference.Bytes(image));
    }

    void AssertClose(float[] want, float[] got, float tol, string what)
    {
        Assert.Equal(want.Length, got.Length);
        float max = 0; int worst = -1, bad = 0;
        for (int i = 0; i < want.Length; i++)
        {
            float d = Math.Abs(want[i] - got[i]);
            if (d > tol) bad++;
            if (d > max) { max = d; worst = i; }
        }
        output.WriteLine($"{what}: max |diff| {max:g3}, {bad} of {want.Length} over {tol}");
        Assert.True(bad == 0, $"{what}: {bad} of {want.Length} values differ by more than {tol} (max {max:g3} at {worst}: want {(worst >= 0 ? want[worst] : 0)}, got {(worst >= 0 ? got[worst] : 0)})");
    }
}
