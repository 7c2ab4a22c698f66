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
public class PixtralFixtureTests(ITestOutputHelper output)
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

    [Theory]
    [MemberData(nameof(Cases))]
    public void Template_processor_and_expansion_give_transformers_text_pixels_and_input_ids(string model, int p)
    {
        var dir = Dir(model);
        var prompt = Prompt(model, p);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(dir, "chat_template.jinja")));
        var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true, BosToken = "<s>", EosToken = "</s>" });
        Assert.Equal(prompt["text"]!.GetValue<string>(), text);

        var tokenizer = HfTokenizer.Load(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        var placeholders = Assert.IsType<PixtralPlaceholders>(ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(dir)!, tokenizer.TokenToId));
        var images = prompt["images"]!.AsArray().Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(dir, "images", n!.GetValue<string>()))))).ToList();
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(text), images);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        // Only the [IMG] tokens take encoder rows; each range ends with [IMG_END].
        foreach (var (offset, length, isEmbed) in ranges.Select(r => (r.Offset, r.Length, r.IsEmbed)))
        {
            Assert.Equal(placeholders.EndTokenId, ids[offset + length - 1]);
            Assert.Equal(Enumerable.Range(offset, length).Select(i => ids[i] == placeholders.ImageTokenId), isEmbed!);
        }

        var want = FixtureImages(model, p);
        Assert.Equal(want.Count, images.Count);
        for (int i = 0; i < images.Count; i++)
        {
            Assert.Equal([3, want[i].Height, want[i].Width], images[i].Shape);
            float max = want[i].Pixels.Zip(images[i].PixelValues, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"{model} prompt {p} image {i}: {want[i].Width}x{want[i].Height}, pixel_values max |diff| {max:g3}");
            Assert.True(max == 0, $"image {i}: pixel values differ by up to {max} from the PIL backend's");
        }
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Pixtral_tower_and_projector_give_transformers_image_features(string model, int p)
    {
        var dir = Dir(model);
        var (loaded, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var _m = loaded;
        var vision = Assert.IsAssignableFrom<IMultiModalModel>(loaded);
        var got = new List<float>();
        int rows = 0;
        foreach (var (pixels, h, w) in FixtureImages(model, p))
        {
            using var features = vision.EncodeImage(new ProcessedImage(pixels, [3, h, w], h, w));
            rows += (int)features.shape[0];
            got.AddRange(features.reshape(-1).data<float>().ToArray());
        }
        var inputs = new SafetensorsArrays(Path.Combine(dir, "inputs.safetensors"));
        var want = inputs.Floats($"p{p}.image_features");
        Assert.Equal(inputs.Shape($"p{p}.image_features")[0], rows);
        Assert.Equal(want.Length, got.Count);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{model} prompt {p}: {rows} feature rows, max |diff| {max:g3}");
        Assert.True(max < 1e-5f, $"image features differ by up to {max}");
    }
}
