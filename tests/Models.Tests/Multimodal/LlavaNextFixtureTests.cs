using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random LLaVA-NeXT made by scripts/fixtures/make_vlm_fixtures.py: transformers' own pixel_values (its any-res
/// tiles) through the tower, projector, unpadding and image_newline packing give transformers' image features row for
/// row, and the processor expands the prompt to transformers' input_ids.
/// </summary>
public class LlavaNextFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-next");

    [Fact]
    public void Packed_image_features_and_input_ids_match_transformers()
    {
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        var prompts = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]!.AsArray();
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var _m = model;
        var vision = Assert.IsType<LlavaNextForConditionalGeneration>(model);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var tokenizer = HfTokenizer.Load(Dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId);
        for (int p = 0; p < prompts.Count; p++)
        {
            var shape = inputs.Shape($"p{p}.pixel_values"); // [images, tiles, 3, S, S]
            var pixels = inputs.Floats($"p{p}.pixel_values");
            var sizes = inputs.Longs($"p{p}.image_sizes");   // [images, (height, width)]
            int perImage = shape[1] * shape[2] * shape[3] * shape[4];
            var got = new List<float>();
            var images = new List<ProcessedImage>();
            for (int i = 0; i < shape[0]; i++)
            {
                // transformers pads every image of a batch to the batch's most tiles; one image alone has its own count.
                int h = (int)sizes[2 * i], w = (int)sizes[2 * i + 1];
                var (bh, bw) = LlavaNextImageProcessor.SelectBestResolution(h, w, placeholders.Images.Config.ImageGridPinpoints);
                int tiles = 1 + bh / shape[3] * (bw / shape[4]);
                var image = new ProcessedImage(pixels.AsSpan(i * perImage, perImage / shape[1] * tiles).ToArray(), [tiles, .. shape[2..]], h, w);
                images.Add(image);
                using var features = vision.EncodeImage(image);
                Assert.Equal(placeholders.NumImageTokens(image), (int)features.shape[0]);
                got.AddRange(features.reshape(-1).data<float>().ToArray());
            }
            var want = inputs.Floats($"p{p}.image_features");
            Assert.Equal(want.Length, got.Count);
            float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"prompt {p}: {shape[0]} image(s), {want.Length / 64} feature rows, max |diff| {max:g3}");
            Assert.True(max < 1e-4f, $"prompt {p}: image features differ by up to {max}");

            var (ids, _) = placeholders.Expand(tokenizer.Encode(prompts[p]!["text"]!.GetValue<string>()), images);
            Assert.Equal(prompts[p]!["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        }
    }
}
