using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Forward;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random Qwen2-VL and Qwen2.5-VL made by scripts/fixtures/make_vlm_fixtures.py: the chat template and the
/// processor give transformers' expanded input_ids, and the vision transformers (2-D rotary, per-image attention or
/// Qwen2.5-VL's windows, patch merger) give transformers' image features for transformers' pixel_values.
/// </summary>
public class Qwen2VLFixtureTests(ITestOutputHelper output)
{
    static string Dir(string model) => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);

    public static IEnumerable<object[]> Cases() =>
        from model in new[] { "qwen2-vl", "qwen2.5-vl" }
        from p in new[] { 0, 1 }
        select new object[] { model, p };

    static JsonNode Prompt(string model, int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(model), "expected.json")))!["prompts"]![p]!;

    [Theory]
    [MemberData(nameof(Cases))]
    public void Processor_and_template_give_transformers_input_ids(string model, int p)
    {
        var dir = Dir(model);
        var prompt = Prompt(model, p);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(dir, "chat_template.jinja")));
        var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true });
        Assert.Equal(prompt["text"]!.GetValue<string>(), text);
        var tokenizer = HfTokenizer.Load(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(dir)!, tokenizer.TokenToId);
        var images = prompt["images"]!.AsArray().Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(dir, "images", n!.GetValue<string>()))))).ToList();
        var (ids, _) = placeholders.Expand(tokenizer.Encode(text), images);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        var inputs = new SafetensorsArrays(Path.Combine(dir, "inputs.safetensors"));
        Assert.Equal(inputs.Longs($"p{p}.image_grid_thw").Select(x => (int)x), images.SelectMany(i => i.GridThw!));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vision_transformer_gives_transformers_image_features(string model, int p)
    {
        var dir = Dir(model);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        var options = Qwen2VisionOptions.From(config["vision_config"]!.AsObject(), qwen25: model == "qwen2.5-vl");
        using var weights = new SafetensorsWeightSource(WeightStore.Open(dir));
        using var tower = new Qwen2VisionTransformer(options, weights, "visual.", ScalarType.Float32, CPU);
        var inputs = new SafetensorsArrays(Path.Combine(dir, "inputs.safetensors"));
        var grids = inputs.Longs($"p{p}.image_grid_thw").Select(x => (int)x).Chunk(3).ToList();
        var pixels = inputs.Floats($"p{p}.pixel_values");
        int row = options.PatchInputSize, start = 0;
        var got = new List<float>();
        foreach (var g in grids)
        {
            int n = g[0] * g[1] * g[2];
            using var x = torch.tensor(pixels.AsSpan(start * row, n * row).ToArray(), [n, row]);
            using var features = tower.Forward(x, g[0], g[1], g[2]);
            Assert.Equal(n / 4, features.shape[0]);
            got.AddRange(features.reshape(-1).data<float>().ToArray());
            start += n;
        }
        var want = inputs.Floats($"p{p}.image_features");
        Assert.Equal(want.Length, got.Count);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{model} prompt {p}: grids {string.Join(" ", grids.Select(g => string.Join("x", g)))}, max |diff| {max:g3}");
        Assert.True(max < 1e-4f, $"image features differ by up to {max}");
    }

    [Fact]
    public void MRope_positions_follow_get_rope_index()
    {
        // Text, a 1 x 2 x 3 merged image, text (worked by hand from transformers' get_rope_index): the image sits at
        // the next position plus its (t, h, w) index, and the text after it goes on from one past its largest position.
        var mrope = MRopePositions.ForPrompt(9, [(2, 1, 2, 3)]);
        var rows = Enumerable.Range(0, 11).Select(mrope.At).ToArray();
        Assert.Equal([0, 1, 2, 2, 2, 2, 2, 2, 5, 6, 7], rows.Select(r => r.T));
        Assert.Equal([0, 1, 2, 2, 2, 3, 3, 3, 5, 6, 7], rows.Select(r => r.H));
        Assert.Equal([0, 1, 2, 3, 4, 2, 3, 4, 5, 6, 7], rows.Select(r => r.W));
        Assert.Equal(-3, mrope.Delta);
    }
}
