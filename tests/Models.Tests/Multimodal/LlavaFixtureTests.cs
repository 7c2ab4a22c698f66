using System.Text.Json.Nodes;
using Pipeline.Models.ChatTemplates;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random LLaVA-1.5 made by scripts/fixtures/make_vlm_fixtures.py: its chat template renders image parts as
/// transformers did, its processor gives the same pixel_values and expanded input_ids, and the CLIP tower + projector
/// give the same image features (the rows that replace the image tokens).
/// </summary>
public class LlavaFixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "llava-1.5");

    public static IEnumerable<object[]> Prompts() =>
        File.Exists(Path.Combine(Dir, "expected.json"))
            ? Enumerable.Range(0, JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]!.AsArray().Count).Select(i => new object[] { i })
            : [[-1]];

    static JsonNode Prompt(int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]![p]!;

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Processor_and_template_give_transformers_input_ids_and_pixels(int p)
    {
        if (p < 0) return;
        var prompt = Prompt(p);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(Dir, "chat_template.jinja")));
        var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true });
        Assert.Equal(prompt["text"]!.GetValue<string>(), text);

        var tokenizer = HfTokenizer.Load(Dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId);
        var images = prompt["images"]!.AsArray().Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", n!.GetValue<string>()))))).ToList();
        var (ids, _) = placeholders.Expand(tokenizer.Encode(text), images);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);

        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var want = inputs.Floats($"p{p}.pixel_values");
        var got = images.SelectMany(i => i.PixelValues).ToArray();
        Assert.Equal(want.Length, got.Length);
        // The fixture's processor is transformers 5's default (torchvision) backend, whose bicubic resize on 8 bits
        // differs from PIL's by at most one level; ours is PIL's, bit-exact against the PIL backend
        // (ImageProcessorFixtureTests). So the bound is one level: 1/255 over the smallest std.
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"prompt {p}: pixel_values max |diff| {max:g3} against the torchvision backend");
        Assert.True(max <= 1 / 255f / 0.26130258f + 1e-6f, $"pixel values differ by {max}, more than one 8-bit level");
    }

    [Theory]
    [MemberData(nameof(Prompts))]
    public void Vision_tower_and_projector_give_transformers_image_features(int p)
    {
        if (p < 0) return;
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var options = LlavaVisionOptions.From(config);
        using var weights = new SafetensorsWeightSource(WeightStore.Open(Dir));
        var tower = Pipeline.Models.Architectures.LlavaForConditionalGeneration.TowerPrefix(weights);
        var projector = weights.Contains("model.multi_modal_projector.linear_1.weight") ? "model.multi_modal_projector." : "multi_modal_projector.";
        using var encoder = new LlavaImageEncoder(options, weights, tower, projector, ScalarType.Float32, CPU);
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var shape = inputs.Shape($"p{p}.pixel_values").Select(x => (long)x).ToArray();
        using var pixels = torch.tensor(inputs.Floats($"p{p}.pixel_values"), shape);
        using var features = encoder.Encode(pixels);
        var got = features.reshape(-1).data<float>().ToArray();
        var want = inputs.Floats($"p{p}.image_features");
        Assert.Equal(want.Length, got.Length);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"prompt {p}: {features.shape[0]} image(s) x {features.shape[1]} tokens, max |diff| {max:g3}");
        Assert.True(max < 1e-4f, $"image features differ by up to {max}");
    }
}
