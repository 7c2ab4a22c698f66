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
/// The tiny random Idefics3 and SmolVLM made by scripts/fixtures/vlm_families/idefics3.py (transformers' PIL image
/// processor backend): the chat template renders as transformers did; the image processor's tiles (resize to the
/// longest edge, up to multiples of the tile, rows x cols tiles and the global image) are transformers' pixel_values
/// bit for bit; the prompt expands to transformers' input_ids (tile markers, newlines, image tokens); and the vision
/// transformer + connector give transformers' image features.
/// </summary>
public class Idefics3FixtureTests(ITestOutputHelper output)
{
    static string Dir(string model) => Path.Combine(AppContext.BaseDirectory, "fixtures", "multimodal", "models", model);

    public static IEnumerable<object[]> Cases() =>
        from model in new[] { "idefics3", "smolvlm" }
        from p in new[] { 0, 1 }
        select new object[] { model, p };

    static JsonNode Prompt(string model, int p) => JsonNode.Parse(File.ReadAllText(Path.Combine(Dir(model), "expected.json")))!["prompts"]![p]!;

    static (ImagePlaceholders Placeholders, HfTokenizer Tokenizer) Load(string dir)
    {
        var tokenizer = HfTokenizer.Load(dir);
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(dir, "config.json")))!.AsObject();
        var placeholders = ImagePlaceholders.Create(config, ImageProcessorConfig.FromDirectory(dir)!, tokenizer.TokenToId, s => tokenizer.Encode(s, addSpecialTokens: false));
        return (placeholders, tokenizer);
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Template_processor_and_placeholders_give_transformers_text_pixels_and_input_ids(string model, int p)
    {
        var dir = Dir(model);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
        var prompt = Prompt(model, p);
        var template = new ChatTemplate(File.ReadAllText(Path.Combine(dir, "chat_template.jinja")));
        var text = template.Render(new ChatTemplateContext { Messages = prompt["messages"]!.AsArray().ToList(), AddGenerationPrompt = true });
        Assert.Equal(prompt["text"]!.GetValue<string>(), text);

        var (placeholders, tokenizer) = Load(dir);
        Assert.IsType<Idefics3ImageProcessor>(placeholders.Images);
        var images = prompt["images"]!.AsArray().Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(dir, "images", n!.GetValue<string>()))))).ToList();
        var inputs = new SafetensorsArrays(Path.Combine(dir, "inputs.safetensors"));
        var shape = inputs.Shape($"p{p}.pixel_values"); // [1, tiles of all images, 3, M, M]
        Assert.Equal(shape[1], images.Sum(i => i.Shape[0]));
        Assert.All(images, i => Assert.Equal(shape[2..], i.Shape[1..]));
        var want = inputs.Floats($"p{p}.pixel_values");
        var got = images.SelectMany(i => i.PixelValues).ToArray();
        Assert.Equal(want.Length, got.Length);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{model} prompt {p}: tiles {string.Join(" + ", images.Select(i => $"{i.Rows}x{i.Cols}+1"))}, pixel_values max |diff| {max:g3} (PIL backend)");
        Assert.Equal(0f, max);
        Assert.All(inputs.Longs($"p{p}.pixel_attention_mask"), m => Assert.Equal(1L, m));

        var (ids, ranges) = placeholders.Expand(tokenizer.Encode(text), images);
        Assert.Equal(prompt["prompt_token_ids"]!.AsArray().Select(x => x!.GetValue<int>()), ids);
        int seq = ((Idefics3Placeholders)placeholders).ImageSeqLen;
        Assert.Equal(images.Select(i => i.Shape[0] * seq), ranges.Select(r => r.NumEmbeds));
        Assert.Equal(images.Select(placeholders.NumImageTokens), ranges.Select(r => r.NumEmbeds));
        Assert.Equal(images.Select(i => placeholders.Replacement(i).Length), ranges.Select(r => r.Length));
    }

    [Theory]
    [MemberData(nameof(Cases))]
    public void Vision_transformer_and_connector_give_transformers_image_features(string model, int p)
    {
        var dir = Dir(model);
        if (!File.Exists(Path.Combine(dir, "expected.json"))) return;
        var (placeholders, _) = Load(dir);
        var (loaded, _) = ModelLoader.Load(dir, new LoadOptions { Dtype = "float32" }, CPU);
        using var _m = loaded;
        var vlm = Assert.IsAssignableFrom<Idefics3ForConditionalGeneration>(loaded);
        var prompt = Prompt(model, p);
        var images = prompt["images"]!.AsArray().Select(n => placeholders.Images.Process(ImageDecoder.Decode(File.ReadAllBytes(Path.Combine(dir, "images", n!.GetValue<string>()))))).ToList();
        var inputs = new SafetensorsArrays(Path.Combine(dir, "inputs.safetensors"));
        var pixels = inputs.Floats($"p{p}.pixel_values");
        var got = new List<float>();
        int start = 0;
        foreach (var image in images)
        {
            // transformers' pixel_values for this image's tiles
            int n = image.PixelValues.Length;
            using var features = vlm.EncodeImage(image with { PixelValues = pixels.AsSpan(start, n).ToArray() });
            start += n;
            Assert.Equal(image.Shape[0] * ((Idefics3Placeholders)placeholders).ImageSeqLen, (int)features.shape[0]);
            got.AddRange(features.reshape(-1).data<float>().ToArray());
        }
        var want = inputs.Floats($"p{p}.image_features");
        Assert.Equal(want.Length, got.Count);
        float max = want.Zip(got, (a, b) => Math.Abs(a - b)).Max();
        output.WriteLine($"{model} prompt {p}: {got.Count / 64} feature rows, max |diff| {max:g3}");
        Assert.True(max < 1e-5f, $"image features differ by up to {max}");
    }
}
