using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random Mistral3 and LLaVA-with-Pixtral made by scripts/fixtures/vlm_families/pixtral.py (transformers 5.17,
/// PixtralProcessor with the PIL image processor): the chat template, the resize to patch multiples and the
/// [IMG]/[IMG_BREAK]/[IMG_END] expansion give transformers' text, pixel_values (bit for bit) and input_ids, and the
/// Pixtral tower with its projector gives transformers' image features, each image at its own size.
/// </summary>
public class PixtralFixtureTests
{
    static string Dir(string model) => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);

    public static IEnumerable<object[]> Cases() =>
        from model in new[] { "mistral3", "llava-pixtral" }
        from p in new[] { 0, 1 }
        select new object[] { model, p };

    static JsonNode Prompt(string model, int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(model), "expected.json")))!["prompts"]![p]!;

    /// <summary>The fixture's images as transformers gave them: pixel_values padded to the batch's largest, cut back to each image_sizes.</summary>
    static List<(float[] Pixels, int Height, int Width)> FixtureImages(string model, int p)
    {
        var inputs = new SafetensorsArrays(Path.Combine(Dir(model), "inputs.safetensors"));
        var shape = inputs.Shape($"p{p}.pixel_values"); // [images, 3, H, W]
        var all = inputs.Floats($"p{p}.pixel_values");
        var sizes = inputs.Longs($"p{p}.image_sizes");
        var result = new List<(float[], int, int)>();
        for (int i = 0; i < shape[0]; i++)
        {
            int h = (int)sizes[2 * i], w = (int)sizes[2 * i + 1];
            var pixels = new float[3 * h * w];
            for (int c = 0; c < 3; c++)
                for (int y = 0; y < h; y++)
                    Array.Copy(all, ((i * 3 + c) * shape[2] + y) * shape[3], pixels, (c * h + y) * w, w);
            result.Add((pixels, h, w));
        }
        return result;
    }

    [Theory]
    [InlineData(60, 80, 84, 28, 84, 84)]  // no shrinking (both sides fit), each side rounded up to 3 patches of 28
    [InlineData(97, 45, 84, 28, 84, 56)]  // shrunk by 97/84 to 84 x 38, the width rounded up to 2 patches
    [InlineData(60, 80, 64, 16, 48, 64)]  // shrunk by 80/64 to 48 x 64
    [InlineData(97, 45, 64, 16, 64, 32)]  // shrunk by 97/64 to 64 x 29, rounded up to 32
    [InlineData(2000, 3, 64, 16, 64, 0)]  // a side shrunk to nothing stays 0 (Python's (0 - 1) // 16 + 1)
    public void Resize_follows_get_resize_output_image_size(int h, int w, int longest, int patch, int wantH, int wantW) =>
        Assert.Equal((wantH, wantW), PixtralImageProcessor.ResizedSize(h, w, longest, longest, patch));

    [Fact]
    public void Placeholder_is_rows_of_image_tokens_with_breaks_and_an_end()
    {
        var config = ImageProcessorConfig.FromJson(new JsonObject { ["image_processor_type"] = "PixtralImageProcessorPil" },
            new JsonObject { ["processor_class"] = "PixtralProcessor", ["patch_size"] = 14, ["spatial_merge_size"] = 2 });
        var images = Assert.IsType<PixtralImageProcessor>(ImageProcessor.Create(config));
        Assert.Equal(28, images.PatchSize);
        var placeholders = new PixtralPlaceholders(images, 10, 12, 13);
        var image = new ProcessedImage([], [3, 56, 84], 56, 84); // 2 rows of 3 merged tokens
        Assert.Equal([10, 10, 10, 12, 10, 10, 10, 13], placeholders.Replacement(image));
        Assert.Equal(6, placeholders.NumImageTokens(image)); // encoder rows: the [IMG] tokens
        var (ids, ranges) = placeholders.Expand([1, 10, 5], [image]);
        Assert.Equal([1, 10, 10, 10, 12, 10, 10, 10, 13, 5], ids);
        Assert.Equal((1, 8), (ranges[0].Offset, ranges[0].Length));
        Assert.Equal([true, true, true, false, true, true, true, false], ranges[0].IsEmbed!);
    }
}
