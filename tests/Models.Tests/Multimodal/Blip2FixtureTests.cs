using System.Text.Json.Nodes;
using Pipeline.Models.Architectures;
using Pipeline.Models.Config;
using Pipeline.Models.Loading;
using Pipeline.Models.Multimodal;
using Pipeline.Models.Tokenizers;
using TorchSharp;
using Xunit.Abstractions;
using static TorchSharp.torch;

namespace Pipeline.Models.Tests.Multimodal;

/// <summary>
/// The tiny random BLIP-2 (OPT decoder) made by scripts/fixtures/make_vlm_fixtures.py (vlm_families/fuyu.py):
/// Blip2Processor's layout (num_query_tokens image tokens, then the tokenized prompt with its BOS), BlipImageProcessor's
/// PIL-backend pixel_values bit for bit, and the vision model + Q-Former + language_projection giving transformers'
/// image features. BLIP-2 has no chat template: the prompt is the question.
/// </summary>
public class Blip2FixtureTests(ITestOutputHelper output)
{
    static readonly string Dir = Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", "blip2");
    static bool Present => File.Exists(Path.Combine(Dir, "expected.json"));
    static JsonNode Prompt => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "expected.json")))!["prompts"]![0]!;

    [Fact]
    public void Processor_gives_transformers_input_ids_and_pixels()
    {
        if (!Present) return;
        var prompt = Prompt;
        var text = prompt["text"]!.GetValue<string>();
        Assert.Equal(prompt["messages"]![0]!["content"]!.AsArray().Last()!["text"]!.GetValue<string>(), text);
        var tokenizer = HfTokenizer.Load(Dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Dir, "config.json")))!.AsObject();
        var placeholders = Assert.IsType<Blip2Placeholders>(ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(Dir)!, tokenizer.TokenToId));
        var image = placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(Dir, "images", prompt["images"]![0]!.GetValue<string>()))));
        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(text), [image]);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        Assert.Equal(new PlaceholderRange(0, config["num_query_tokens"]!.GetValue<int>()), ranges[0]);

        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        var want = inputs.Floats("p0.pixel_values");
        Assert.Equal(want.Length, image.PixelValues.Length);
        float max = want.Zip(image.PixelValues, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"pixel_values {string.Join("x", image.Shape)}: max |diff| {max:g3} against the PIL backend");
        Assert.Equal(0f, max);
    }

    [Fact]
    public void Vision_model_qformer_and_projection_give_transformers_image_features()
    {
        if (!Present) return;
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        using var weights = new SafetensorsWeightSource(WeightStore.Open(Dir));
        using var model = new Blip2ForConditionalGeneration(ModelConfig.Load(Dir), weights, ScalarType.Float32, CPU);
        var shape = inputs.Shape("p0.pixel_values").Select(x => (long)x).ToArray();
        using var pixels = torch.tensor(inputs.Floats("p0.pixel_values"), shape);
        using var features = model.Encode(pixels);
        var want = inputs.Floats("p0.image_features");
        var got = features.reshape(-1).data<float>().ToArray();
        Assert.Equal(want.Length, got.Length);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{features.shape[1]} query features, max |diff| {max:g3}");
        Assert.True(max < 1e-5f, $"image features differ by up to {max}");
    }

    [Fact]
    public void In_bfloat16_image_features_stay_close_and_come_back_in_bfloat16()
    {
        if (!Present) return;
        var inputs = new SafetensorsArrays(Path.Combine(Dir, "inputs.safetensors"));
        using var weights = new SafetensorsWeightSource(WeightStore.Open(Dir));
        using var model = new Blip2ForConditionalGeneration(ModelConfig.Load(Dir), weights, ScalarType.BFloat16, CPU);
        var shape = inputs.Shape("p0.pixel_values").Select(x => (long)x).ToArray();
        using var pixels = torch.tensor(inputs.Floats("p0.pixel_values"), shape);
        using var features = model.Encode(pixels);
        Assert.Equal(ScalarType.BFloat16, features.dtype);
        var want = inputs.Floats("p0.image_features");
        var got = features.to_type(ScalarType.Float32).reshape(-1).data<float>().ToArray();
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max(), scale = want.Max(x => Math.Abs(x));
        output.WriteLine($"bfloat16: max |diff| {max:g3} of largest |value| {scale:g3}");
        Assert.True(max < 0.05f * scale, $"bfloat16 image features differ by up to {max}");
    }
}
