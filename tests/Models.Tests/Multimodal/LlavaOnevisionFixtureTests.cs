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
/// The tiny random LLaVA-OneVision made by scripts/fixtures/vlm_families/onevision.py (SigLIP tower, any-res with
/// anyres_max_2, Qwen2): the chat template renders as transformers did; the PIL-backend processor's pixel_values are
/// transformers' bit for bit (each image's own tiles; transformers pads a batch to its most tiles); the expanded
/// input_ids are transformers'; and the tower, projector, unpadding, bilinear pooling and newlines give transformers'
/// packed image features (the cat image is unpadded and pooled, the tall one only unpadded).
/// </summary>
public class LlavaOnevisionFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-onevision");

    [Fact]
    public void Template_pixels_input_ids_and_packed_features_match_transformers()
    {
        if (!File.Exists(Path.Combine(Dir, "expected.json"))) return;
        var prompts = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]!.AsArray();
        var (model, _) = ModelLoader.Load(Dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var _m = model;
        var vision = Assert.IsType<LlavaOnevisionForConditionalGeneration>(model);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var tokenizer = HfTokenizer.Load(Dir);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(Dir, "chat_template.jinja")));
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId);
        for (int p = 0; p < prompts.Count; p++)
        {
            var prompt = prompts[p]!;
            var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true });
            Assert.Equal(prompt["text"]!.GetValue<string>(), text);
            var images = prompt["images"]!.AsArray()
                .Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", n!.GetValue<string>()))))).ToList();

            var shape = inputs.Shape($"p{p}.pixel_values"); // [images, most tiles, 3, S, S]
            var want = inputs.Floats($"p{p}.pixel_values");
            int perTile = shape[2] * shape[3] * shape[4];
            var got = new List<float>();
            for (int i = 0; i < images.Count; i++)
            {
                var tiles = images[i].Shape[0];
                Assert.Equal(want.AsSpan(i * shape[1] * perTile, tiles * perTile).ToArray(), images[i].PixelValues);
                using var features = vision.EncodeImage(images[i]);
                Assert.Equal(placeholders.NumImageTokens(images[i]), (int)features.shape[0]);
                got.AddRange(features.reshape(-1).data<float>().ToArray());
            }
            var wantFeatures = inputs.Floats($"p{p}.image_features");
            Assert.Equal(wantFeatures.Length, got.Count);
            float max = wantFeatures.Zip(got, (a, b) => Math.Abs(a - b)).Max();
            output.WriteLine($"prompt {p}: {images.Count} image(s), tiles {string.Join("+", images.Select(i => i.Shape[0]))}, " +
                $"{got.Count / config["text_config"]!["hidden_size"]!.GetValue<int>()} feature rows, max |diff| {max:g3}");
            Assert.True(max < 1e-5f, $"prompt {p}: image features differ by up to {max}");

            var (ids, _) = placeholders.Expand(tokenizer.Encode(text), images);
            Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        }
    }
}
